"""Motion words, labels and symmetry relabelling on hand-made inputs with known answers."""

import numpy as np
import pandas as pd
import pytest

from analysis.elements import element_of
from analysis.features.conformers import atom_tag, six_ring_form
from analysis.features.internal import FAMILY_SCALE, family_scale, feature_family
from analysis.motions import describe_feature, loading_words, motion_details, motion_scores
from analysis.symmetry import canonical_choice, equivalent_phrases
from analysis.topology import Topology

# formamide-like: C1(=O2) bonded to N3(H4)(H5) and H6
TOPO = Topology(symbols=["C", "O", "N", "H", "H", "H"], names=["C1", "O2", "N3", "H4", "H5", "H6"],
                bonds=[(0, 1), (0, 2), (2, 3), (2, 4), (0, 5)], rings=[])


def test_symbols_and_atom_tags():
    assert [element_of(s) for s in ("c", " CL ", "Cl", "h")] == ["C", "Cl", "Cl", "H"]
    assert [atom_tag(n) for n in ("C4", "N12", "Cα", "ring2C3")] == ["4", "12", "Cα", "3"]


def test_six_ring_forms_at_their_canonical_points():
    # (θ, φ) of each form of the table in analysis.features.conformers, both hemispheres, φ shifted by 60°
    theta = [0, 180, 54.7, 125.3, 50.8, 67.5, 90, 90, 10, 85]
    phi = [123, 7, 60, 240, 90, 150, 120, 210, 200, 33]
    forms = ["chair", "chair", "envelope", "envelope", "half-chair", "screw-boat", "boat", "skew-boat", "chair", "skew-boat"]
    names = ["chair", "envelope", "half-chair", "screw-boat", "boat", "skew-boat"]
    assert [names[k] for k in six_ring_form(np.array(theta), np.array(phi))] == forms


def test_feature_family_and_natural_scale():
    assert feature_family("bond[C1-N3]") == "bond" and feature_family("oop[N8:ring1]") == "oop"
    assert family_scale(["bond[C1-N3]", "angle[C1-N3-H4]", "mystery[x]"]).tolist() == [FAMILY_SCALE["bond"], FAMILY_SCALE["angle"], 1.0]


@pytest.mark.parametrize("column, delta, words", [
    ("bond[C1-N3]", 0.3, "C1-N3 stretching"), ("bond[C1-N3]", -0.1, "C1-N3 compression"),
    ("angle[O2-C1-N3]", 5.0, "O2-C1-N3 opening"), ("angle[O2-C1-N3]", -5.0, "O2-C1-N3 closing"),
    ("dihedral_sin[O2-C1-N3-H4]", 0.2, "C1-N3 torsion"), ("pucker_z[C6:ring1]", -0.2, "C6 puckering [-]"),
    ("oop[N3:ring1]", 12.0, "NH2 out-of-plane [+]"), ("pyr[N3]", -9.0, "NH2 pyramidalization [-]"),
    ("pyr[C1]", 9.0, "C1 pyramidalization [+]"), ("pucker_Q[ring1]", 0.4, "ring1 puckering"), ("odd", 1.0, "odd"),
])
def test_describe_feature_in_chemical_words(column, delta, words):
    assert describe_feature(column, delta, TOPO) == words
    assert loading_words(column, delta, TOPO) == words


def test_groups_that_occur_twice_are_named_by_their_atoms():
    """Uracil (N1 C2 N3 C4 C5 C6 ring, O7 on C2, O8 on C4) has two carbonyls: 'C=O out-of-plane' would not say
    which moved. A group the molecule has once keeps its generic name (thymine's CH3 on C5)."""
    symbols = ["N", "C", "N", "C", "C", "C", "O", "O", "C", "H", "H", "H", "H", "H", "H"]
    names = [f"{s}{k}" for k, s in enumerate(symbols, start=1)]
    ring = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)]
    bonds = ring + [(1, 6), (3, 7), (4, 8), (8, 9), (8, 10), (8, 11), (0, 12), (2, 13), (5, 14)]
    thymine = Topology(symbols=symbols, names=names, bonds=bonds, rings=[[0, 1, 2, 3, 4, 5]])
    assert [thymine.group_name(a) for a in (6, 7, 8, 0)] == ["C2=O7", "C4=O8", "CH3", "N1"]
    assert describe_feature("oop[O8:ring1]", 12.0, thymine) == "C4=O8 out-of-plane [+]"
    from analysis.symmetry import phrase_atoms

    assert phrase_atoms("C4=O8 out-of-plane [+]", names) == [3, 7]  # the drawing highlights both atoms
    assert TOPO.group_name(2) == "NH2" and TOPO.group_name(1) == "C=O"


def test_motion_scores_rank_in_natural_units_and_motion_details_wrap_torsions():
    ref = pd.DataFrame({"bond[C1-N3]": [1.35, 1.37], "angle[O2-C1-N3]": [123.0, 125.0],
                        "dihedral_sin[O2-C1-N3-H4]": [np.sin(np.radians(175))] * 2,
                        "dihedral_cos[O2-C1-N3-H4]": [np.cos(np.radians(175))] * 2})
    group = ref.copy()
    group["bond[C1-N3]"] += 0.05        # 0.5 in units of 0.1 Å
    group["angle[O2-C1-N3]"] -= 20.0    # 2.0 in units of 10°
    group["dihedral_sin[O2-C1-N3-H4]"] = np.sin(np.radians(-165))  # 175° → −165°: a 20° turn through 180°
    group["dihedral_cos[O2-C1-N3-H4]"] = np.cos(np.radians(-165))
    scores = motion_scores(group.mean(), ref.mean())
    assert scores.index[0] == "angle[O2-C1-N3]" and scores.iloc[0] == pytest.approx(2.0)
    assert scores["bond[C1-N3]"] == pytest.approx(0.5)
    details = motion_details(group, ref, TOPO, n=3)
    # the torsion ranks by its turn, 20° in units of 30° = 0.67: between the angle's 2.0 and the bond's 0.5
    assert [m.phrase for m in details] == ["O2-C1-N3 closing", "C1-N3 torsion", "C1-N3 stretching"]
    assert details[0].change == pytest.approx(-20.0) and details[0].unit == "°"
    assert details[1].change == pytest.approx(20.0) and details[1].unit == "°"  # a 20° turn, not −340°
    assert details[2].change == pytest.approx(0.05) and details[2].unit == "Å"


def test_torsions_about_one_bond_are_one_twist():
    """An NH2 group twisting about C1-N3 turns O2-C1-N3-H4 and H6-C1-N3-H4 alike: one motion, 'C1-N3 torsion' (the
    mean turn of the two, 50° and 46°), and the second slot goes to the next motion, not to the same twist read through other atoms."""
    ref = pd.DataFrame({f"dihedral_{f}[{q}]": [fn(np.radians(a))] * 2 for q, a in (("O2-C1-N3-H4", 0.0), ("H6-C1-N3-H4", 180.0))
                        for f, fn in (("sin", np.sin), ("cos", np.cos))} | {"angle[O2-C1-N3]": [124.0, 124.0]})
    group = ref.copy()
    for q, a in (("O2-C1-N3-H4", 50.0), ("H6-C1-N3-H4", 226.0)):
        group[f"dihedral_sin[{q}]"], group[f"dihedral_cos[{q}]"] = np.sin(np.radians(a)), np.cos(np.radians(a))
    group["angle[O2-C1-N3]"] -= 5.0  # 0.5 in units of 10°, below the torsion's twist 48° / 30° = 1.6
    details = motion_details(group, ref, TOPO, n=2)
    assert [m.phrase for m in details] == ["C1-N3 torsion", "O2-C1-N3 closing"]
    assert details[0].change == pytest.approx(48.0)


def test_equivalent_phrases_map_names_and_merge_a_reversed_torsion():
    names = ["C1", "C2", "N3", "N4", "H5", "H6"]
    swap = [1, 0, 3, 2, 5, 4]
    identity = list(range(6))
    assert equivalent_phrases("C1-N3 stretching", names, [identity, swap]) == ["C1-N3 stretching", "C2-N4 stretching"]
    assert equivalent_phrases("H5-C1-C2-H6 torsion", names, [identity, swap]) == ["H5-C1-C2-H6 torsion"]
    assert equivalent_phrases("", names, [identity, swap]) == [""]


@pytest.mark.parametrize("phrase, atoms, broken, formed", [
    ("C1-N3 stretching (ring opening)", [0, 2], [(0, 2)], []),
    ("C1-N3 / C2-N4 stretching (bond breaking)", [0, 2], [(0, 2)], []),
    ("C1···C2 bond formation", [0, 1], [], [(0, 1)]),
    ("H5 transfer N3→N4", [4, 2, 3], [(2, 4)], [(3, 4)]),
    ("C1-N3 stretching", [0, 2], [], []),
    ("C1 puckering [+] / [-]", [0], [], []),
    ("", [], [], []),
])
def test_a_phrase_names_its_atoms_and_the_bonds_it_breaks_or_forms(phrase, atoms, broken, formed):
    from analysis.motions import phrase_bond_changes
    from analysis.symmetry import phrase_atoms

    names = ["C1", "C2", "N3", "N4", "H5", "H6"]
    assert phrase_atoms(phrase, names) == atoms
    assert phrase_bond_changes(phrase, names) == (broken, formed)


def test_canonical_choice_gives_the_moving_atom_the_lower_equivalent_index():
    # a symmetric triatomic X1-C0-X2 (atoms 1 and 2 equivalent); one geometry stretches bond 0-2, one bond 0-1
    reference = np.array([[0.0, 0, 0], [-1.2, 0, 0], [1.2, 0, 0]])
    stretch_2 = reference + [[0, 0, 0], [0, 0, 0], [0.5, 0, 0]]
    stretch_1 = reference + [[0, 0, 0], [-0.5, 0, 0], [0, 0, 0]]
    symmetries = [([0, 1, 2], False), ([0, 2, 1], False)]
    assert canonical_choice(np.stack([stretch_2, stretch_1, reference]), reference, symmetries).tolist() == [1, 0, 0]


def test_event_motions_name_each_event_on_its_own():
    """Two events from the same FC frames: one stretches C1–N3 by 0.3 Å, one closes O2–C1–N3 by 25°; each is named
    by its own motion (known answers), and each row agrees with motion_details of that row alone."""
    from analysis.motions import event_motions

    ref = pd.DataFrame({"bond[C1-N3]": [1.35, 1.37], "angle[O2-C1-N3]": [123.0, 125.0], "bond[C1-O2]": [1.22, 1.22]})
    events = pd.DataFrame({"bond[C1-N3]": [1.66, 1.37], "angle[O2-C1-N3]": [125.0, 99.0], "bond[C1-O2]": [1.23, 1.20]})
    motions = event_motions(events, ref, TOPO, n=2)
    assert [m.phrase for m in motions[0]] == ["C1-N3 stretching", "C1-O2 stretching"]
    assert motions[0][0].change == pytest.approx(0.30) and motions[0][0].unit == "Å"
    assert motions[1][0].phrase == "O2-C1-N3 closing" and motions[1][0].change == pytest.approx(-25.0)
    for k in range(2):
        assert motions[k] == motion_details(events.iloc[[k]], ref, TOPO, n=2)
    assert event_motions(events, ref.iloc[:0], TOPO) == [[], []]  # no FC frame: nothing to compare with


@pytest.mark.parametrize("pair", [("C", "C"), ("C", "N"), ("N", "H"), ("O", "H"), ("C", "I"), ("S", "S"), ("Fe", "C")])
def test_the_bond_cutoff_is_where_perception_stops_drawing_the_bond(pair):
    from analysis.topology import bond_cutoff_angstrom, perceive_bonds

    cutoff = bond_cutoff_angstrom(*pair)
    for distance, bonded in ((cutoff - 0.01, True), (cutoff + 0.01, False)):
        coords = np.array([[0.0, 0.0, 0.0], [distance, 0.0, 0.0]])
        assert (perceive_bonds(list(pair), coords, method="mdanalysis") == [(0, 1)]) == bonded, (pair, distance)


def test_a_bond_past_its_cutoff_is_named_broken_and_a_ring_bond_an_opening():
    """Known answers: a C-C bond of 1.54 A stretched to 1.70 A is still a bond (MDAnalysis-style perception draws
    C-C up to 0.55 x 3.4 = 1.87 A); at 2.2 A it is broken. In cyclohexane's ring that is a ring opening; the C-H of
    a methyl at 1.9 A (cutoff 1.54 A) is a bond breaking."""
    ring = Topology(symbols=["C"] * 6 + ["H"], names=[f"C{i}" for i in range(1, 7)] + ["H7"],
                    bonds=[(i, (i + 1) % 6) for i in range(6)] + [(0, 6)], rings=[[0, 1, 2, 3, 4, 5]])
    assert describe_feature("bond[C1-C6]", 0.16, ring, 1.70) == "C1-C6 stretching"
    assert describe_feature("bond[C1-C6]", 0.66, ring, 2.20) == "C1-C6 stretching (ring opening)"
    assert describe_feature("bond[C1-H7]", 0.80, ring, 1.90) == "C1-H7 stretching (bond breaking)"
    assert describe_feature("bond[C1-C6]", 0.66, ring) == "C1-C6 stretching"  # a loading: no length, no verdict
    assert describe_feature("bond[C1-C6]", -0.1, ring, 2.2) == "C1-C6 compression"  # shortening: not a breaking
    # already past the cutoff at the Franck-Condon geometry (1.90 A): stretching further breaks nothing new
    assert describe_feature("bond[C1-C6]", 0.10, ring, 2.00) == "C1-C6 stretching"
    from analysis.motions import bonding_changes
    assert [bonding_changes(["bond[C1-C6]"], np.array([[2.00]]), np.array([fc]), ring).tolist() for fc in (1.90, 1.54)] == [[[False]], [[True]]]


def test_a_bond_that_breaks_is_named_before_larger_distortions():
    """A reaction before a distortion: a ring C-C that opens (1.54 -> 1.95 A, past the 1.87 A cutoff) is the important
    motion although a 60 deg angle change is larger in natural units; stretched to 1.80 A it stays behind it."""
    from analysis.motions import event_motions

    ring = Topology(symbols=["C"] * 6 + ["H"], names=[f"C{i}" for i in range(1, 7)] + ["H7"],
                    bonds=[(i, (i + 1) % 6) for i in range(6)] + [(0, 6)], rings=[[0, 1, 2, 3, 4, 5]])
    reference = pd.DataFrame({"bond[C1-C6]": [1.54, 1.54], "angle[C2-C1-H7]": [120.0, 120.0]})
    opened = pd.DataFrame({"bond[C1-C6]": [1.95], "angle[C2-C1-H7]": [180.0]})
    stretched = pd.DataFrame({"bond[C1-C6]": [1.80], "angle[C2-C1-H7]": [180.0]})
    assert [m.phrase for m in motion_details(opened, reference, ring)] == ["C1-C6 stretching (ring opening)", "C2-C1-H7 opening"]
    assert [m.phrase for m in motion_details(stretched, reference, ring)] == ["C2-C1-H7 opening", "C1-C6 stretching"]
    per_event = event_motions(pd.concat([opened, stretched], ignore_index=True), reference, ring)
    assert [[m.phrase for m in ms] for ms in per_event] == [["C1-C6 stretching (ring opening)", "C2-C1-H7 opening"],
                                                          ["C2-C1-H7 opening", "C1-C6 stretching"]]


def test_a_hydrogen_that_leaves_one_atom_for_another_is_a_transfer():
    """O1-H3 (0.99 A) breaks (1.70 A, past the 1.44 A O-H cutoff) and H3···N2 (1.70 A) forms (1.03 A, within 1.46 A):
    one motion 'H3 transfer O1→N2'. An O-H that only stretches (1.20 A) beside the same approach is no transfer."""
    from analysis.motions import hydrogen_transfers

    topo = Topology(symbols=["O", "N", "H"], names=["O1", "N2", "H3"], bonds=[(0, 2)], rings=[])
    reference = pd.DataFrame({"bond[O1-H3]": [0.99, 0.99], "contact[N2-H3]": [1.70, 1.70], "angle[N2-O1-H3]": [30.0, 30.0]})
    transfer = pd.DataFrame({"bond[O1-H3]": [1.70], "contact[N2-H3]": [1.03], "angle[N2-O1-H3]": [5.0]})
    motions = motion_details(transfer, reference, topo)
    assert [m.phrase for m in motions] == ["H3 transfer O1\u2192N2", "N2-O1-H3 closing"]
    assert str(motions[0]) == "H3 transfer O1\u2192N2"  # no size: two distances changed
    from analysis.motions import event_motions  # event by event (rows without a broken H bond skip the search)
    both = pd.concat([transfer, reference.iloc[[0]].assign(**{"angle[N2-O1-H3]": 5.0})], ignore_index=True)
    assert [ms[0].phrase for ms in event_motions(both, reference, topo)] == ["H3 transfer O1\u2192N2", "N2-O1-H3 closing"]
    stretched = pd.DataFrame({"bond[O1-H3]": [1.20], "contact[N2-H3]": [1.40], "angle[N2-O1-H3]": [5.0]})
    assert hydrogen_transfers(list(stretched.columns), stretched.iloc[0], reference.mean(), topo) == {}
    # a hydrogen bond that tightens (H3···N2 1.70 -> 1.55 A: below 1.6 x the covalent sum, 1.63 A, but not within the
    # 1.46 A bond cutoff) forms no bond: it is not named as one, however large its change
    tighter = pd.DataFrame({"bond[O1-H3]": [1.00], "contact[N2-H3]": [1.55], "angle[N2-O1-H3]": [29.0]})
    assert "bond formation" not in " ".join(m.phrase for m in motion_details(tighter, reference, topo))


def test_a_bond_broken_in_some_events_and_stretched_in_others_is_one_shared_motion():
    from analysis.motions import Motion, shared_motions

    broken = lambda d: Motion("C1-C6 stretching (ring opening)", "bond[C1-C6]", d, "Å")  # noqa: E731
    plain = lambda d: Motion("C1-C6 stretching", "bond[C1-C6]", d, "Å")  # noqa: E731
    # 2 of 4 broken, 2 stretched: one motion of 4 events (each form alone is only half), named broken (half have it)
    shared = shared_motions([[broken(0.5)], [broken(0.6)], [plain(0.2)], [plain(0.3)]])
    assert shared == [("C1-C6 stretching (ring opening)", 4, pytest.approx(0.4), "Å")]
    shared = shared_motions([[broken(0.5)], [plain(0.2)], [plain(0.3)], [plain(0.25)]])
    assert shared == [("C1-C6 stretching", 4, pytest.approx(0.3125), "Å")]


def test_shared_motions_are_those_most_events_show():
    from analysis.motions import Motion, shared_motions

    stretch = lambda d: Motion("C1-C6 stretching", "bond[C1-C6]", d, "Å")  # noqa: E731
    oop = lambda d: Motion("H8 out-of-plane [+]", "oop[H8:ring1]", d, "°")  # noqa: E731
    events = [[oop(50.0), stretch(0.40)], [stretch(0.42), oop(40.0)], [Motion("H11 out-of-plane [-]", "oop[H11:ring1]", -56.0, "°"),
                                                                        stretch(0.41)]]
    shared = shared_motions(events)
    assert [(p, n) for p, n, _, _ in shared] == [("C1-C6 stretching", 3), ("H8 out-of-plane [+]", 2)]
    assert shared[0][2] == pytest.approx(0.41) and shared[0][3] == "Å" and shared[1][2] == pytest.approx(45.0)
    assert shared_motions(events[:1]) == []            # one event shares nothing
    more = shared_motions(events + [[oop(1.0)]] * 3)  # six events: a phrase needs three
    assert [(p, n) for p, n, _, _ in more] == [("H8 out-of-plane [+]", 5), ("C1-C6 stretching", 3)]
    assert more[0][2] == pytest.approx(18.6)
    assert shared_motions(events + [[oop(1.0)]] * 5) == [("H8 out-of-plane [+]", 7, pytest.approx(95.0 / 7), "°")]  # 3 of 8 < half


def test_a_contact_is_named_only_when_its_atoms_come_within_bonding_distance():
    """contact[O2-H...] style columns carry the distance of two atoms that may bond. A bond formation is named once
    they come within 1.6 x the sum of their covalent radii (C...C: 2.43 A); a contact that only shortens (3.6 -> 3.1 A,
    as any torsion between the two atoms does) is never a motion, however large its change."""
    from analysis.motions import event_motions

    topo = Topology(symbols=["C", "C", "C", "C", "C", "C"], names=[f"C{k}" for k in range(1, 7)],
                    bonds=[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], rings=[])
    ref = pd.DataFrame({"contact[C1-C6]": [3.0, 3.0], "bond[C2-C3]": [1.45, 1.45]})
    closing = pd.DataFrame({"contact[C1-C6]": [2.0, 2.1], "bond[C2-C3]": [1.55, 1.55]})
    found = motion_details(closing, ref, topo, n=2)
    assert [m.phrase for m in found] == ["C1···C6 bond formation", "C2-C3 stretching"]
    assert found[0].change == pytest.approx(-0.95) and found[0].unit == "Å"
    approaching = pd.DataFrame({"contact[C1-C6]": [2.6, 2.5], "bond[C2-C3]": [1.55, 1.55]})  # 2.55 > 2.43 A
    assert [m.phrase for m in motion_details(approaching, ref, topo, n=2)] == ["C2-C3 stretching"]
    rows = event_motions(pd.concat([closing, approaching], ignore_index=True), ref, topo, n=1)
    assert [[m.phrase for m in r] for r in rows] == [["C1···C6 bond formation"]] * 2 + [["C2-C3 stretching"]] * 2


def test_contacts_are_for_naming_only():
    from analysis.features.internal import clustering_columns

    assert clustering_columns(["contact[C1-C6]", "bond[C1-C2]", "pucker_theta[ring1]"]) == ["bond[C1-C2]"]


def test_a_contact_read_either_way_is_one_symmetry_form():
    """Swapping the two molecules of a dimer maps 'C1···C7' onto 'C7···C1': the same pair, one form, not 'C1···C7 /
    C7···C1'; every form is read from its lower-numbered atom ('C2···C7', not 'C7···C2')."""
    from analysis.symmetry import merged_phrase

    names = ["C1", "C2", "C7", "C8"]
    swap = [(0, 1, 2, 3), (2, 3, 0, 1)]
    assert equivalent_phrases("C1···C7 bond formation", names, swap) == ["C1···C7 bond formation"]
    assert merged_phrase("C1···C8 bond formation", names, swap) == "C1···C8 / C2···C7 bond formation"


def test_equivalent_forms_are_read_from_their_lower_numbered_atom():
    """A C1<->C2 swap maps 'C1-C6 stretching' onto 'C2-C3' and 'C1-C2' onto itself, never 'C2-C1'; an angle and a torsion
    read either way are one motion, written from the lower-numbered end; a transfer keeps its direction."""
    names = ["C1", "C2", "C3", "H4", "H5", "C6"]
    swap = [(0, 1, 2, 3, 4, 5), (1, 0, 5, 4, 3, 2)]  # C1<->C2, C3<->C6, H4<->H5
    assert equivalent_phrases("C1-C2 stretching", names, swap) == ["C1-C2 stretching"]
    assert equivalent_phrases("C1-C3 stretching", names, swap) == ["C1-C3 stretching", "C2-C6 stretching"]
    assert equivalent_phrases("C3-C1-H4 opening", names, swap) == ["C3-C1-H4 opening", "H5-C2-C6 opening"]
    assert equivalent_phrases("H4 transfer C1→C2", names, swap) == ["H4 transfer C1→C2", "H5 transfer C2→C1"]


def test_a_channel_at_the_franck_condon_geometry_has_no_motion():
    """Ten events drawn from the same thermal spread as the Franck–Condon frames (a hop at the first step): their
    largest mean change, a C1-O2 'compression' of a few mÅ, is within 3 standard errors, and the channel's motion
    says so; the same events with O2 pulled 0.1 Å out name 'C1-O2 stretching'."""
    from analysis.motions import NO_MOTION

    rng = np.random.default_rng(1)
    columns = ["bond[C1-O2]", "bond[C1-N3]", "angle[O2-C1-N3]"]
    centre, spread = np.array([1.21, 1.36, 124.0]), np.array([0.02, 0.02, 2.0])
    ref = pd.DataFrame(centre + spread * rng.normal(size=(30, 3)), columns=columns)
    group = pd.DataFrame(centre + spread * rng.normal(size=(10, 3)), columns=columns)
    details = motion_details(group, ref, TOPO, n=2)
    assert [m.phrase for m in details] == [NO_MOTION] and not np.isfinite(details[0].change)
    moved = group.assign(**{"bond[C1-O2]": group["bond[C1-O2]"] + 0.1})
    assert motion_details(moved, ref, TOPO, n=1)[0].phrase == "C1-O2 stretching"
    # nothing else moved beyond the spread: no second motion (before, a thermal 'C1-N3 compression' of mÅ filled it)
    assert [m.phrase for m in motion_details(moved, ref, TOPO, n=2)] == ["C1-O2 stretching"]
    opened = moved.assign(**{"angle[O2-C1-N3]": moved["angle[O2-C1-N3]"] + 8.0})
    assert [m.phrase for m in motion_details(opened, ref, TOPO, n=2)] == ["C1-O2 stretching", "O2-C1-N3 opening"]


def test_a_second_motion_that_would_read_zero_is_not_named():
    """The demo's channel A3B1 read 'N1-C6 torsion −0 °' as its second motion: a change beyond the FC spread (no
    spread here at all) that rounds to nothing in its unit says nothing. A first motion is always named."""
    ref = pd.DataFrame({"bond[C1-O2]": [1.21, 1.21], "angle[O2-C1-N3]": [124.0, 124.0], "bond[C1-N3]": [1.36, 1.36]})
    tiny = ref + pd.Series({"bond[C1-O2]": 0.10, "angle[O2-C1-N3]": 0.3, "bond[C1-N3]": 0.004})
    assert [str(m) for m in motion_details(tiny, ref, TOPO, n=2)] == ["C1-O2 stretching +0.10 Å"]
    shown = ref + pd.Series({"bond[C1-O2]": 0.10, "angle[O2-C1-N3]": 0.6, "bond[C1-N3]": 0.004})
    assert [str(m) for m in motion_details(shown, ref, TOPO, n=2)] == ["C1-O2 stretching +0.10 Å", "O2-C1-N3 opening +1 °"]
    only = ref + pd.Series({"bond[C1-O2]": 0.004, "angle[O2-C1-N3]": 0.0, "bond[C1-N3]": 0.0})
    assert [m.phrase for m in motion_details(only, ref, TOPO, n=2)] == ["C1-O2 stretching"]


def _methyl_iodide(x_c_h_deg, single=None):
    """CH3I with the C-I bond on +z and each I-C-H angle ``x_c_h_deg`` (H5's ``single`` instead, when given)."""
    coords = [[0.0, 0.0, 0.0], [0.0, 0.0, 2.14]]
    for k in range(3):
        angle = np.radians(single if (single is not None and k == 2) else x_c_h_deg)
        phi = np.radians(120.0 * k)
        coords.append([1.09 * np.sin(angle) * np.cos(phi), 1.09 * np.sin(angle) * np.sin(phi), 1.09 * np.cos(angle)])
    return np.array(coords)


CH3I = Topology(symbols=["C", "I", "H", "H", "H"], names=["C1", "I2", "H3", "H4", "H5"], bonds=[(0, 1), (0, 2), (0, 3), (0, 4)], rings=[])


def test_a_methyl_umbrella_is_the_mean_x_c_h_angle_and_is_for_naming_only():
    """Known answers: 109.47° for a tetrahedral CH3, 90° when flat; a CH2 or a CH4 has no umbrella axis."""
    from analysis.features.internal import clustering_columns, featurize, umbrella_groups

    tetrahedral = np.degrees(np.arccos(-1.0 / 3.0))
    features = featurize(np.stack([_methyl_iodide(tetrahedral), _methyl_iodide(90.0), _methyl_iodide(100.0, single=130.0)]), CH3I)
    np.testing.assert_allclose(features["umbrella[C1]"], [tetrahedral, 90.0, 110.0], atol=1e-9)
    assert umbrella_groups(CH3I) == [(0, 1, [2, 3, 4])]
    assert umbrella_groups(TOPO) == []  # formamide: an NH2 has no umbrella
    methane = Topology(symbols=["C", "H", "H", "H", "H"], names=["C1", "H2", "H3", "H4", "H5"], bonds=[(0, 1), (0, 2), (0, 3), (0, 4)], rings=[])
    assert umbrella_groups(methane) == []  # four hydrogens: no axis atom
    assert clustering_columns(["umbrella[C1]", "angle[I2-C1-H3]"]) == ["angle[I2-C1-H3]"]


@pytest.mark.parametrize("delta, words", [(-15.0, "CH3 umbrella flattening"), (8.0, "CH3 umbrella folding")])
def test_umbrella_words(delta, words):
    assert describe_feature("umbrella[C1]", delta, CH3I) == words


def test_an_umbrella_is_named_when_the_three_angles_move_together_and_an_angle_when_one_moves_alone():
    """From the FC CH3I (I-C-H 107.5°): the three I-C-H angles closing 12° together are 'CH3 umbrella flattening';
    one closing 20° alone (mean 6.7°) is that angle's closing."""
    from analysis.features.internal import featurize
    from analysis.motions import event_motions

    ref = featurize(_methyl_iodide(107.5)[None], CH3I)
    events = featurize(np.stack([_methyl_iodide(95.5), _methyl_iodide(107.5, single=87.5)]), CH3I)
    motions = event_motions(events, ref, CH3I, n=1)
    assert motions[0][0].phrase == "CH3 umbrella flattening" and motions[0][0].change == pytest.approx(-12.0)
    assert motions[1][0].phrase == "I2-C1-H5 closing" and motions[1][0].change == pytest.approx(-20.0)
    # C-I stretched 0.3 Å while flattening: the umbrella's own angles (I-C-H closing 12°, H-C-H opening) are not
    # named again after it; the rest changes nothing
    stretched = featurize((_methyl_iodide(95.5) + [[0, 0, 0], [0, 0, 0.3], [0, 0, 0], [0, 0, 0], [0, 0, 0]])[None], CH3I)
    named = event_motions(stretched, ref, CH3I, n=3)[0]
    assert [m.phrase for m in named[:2]] == ["C1-I2 stretching", "CH3 umbrella flattening"]
    assert len(named) == 2  # no angle of the umbrella again, and nothing else moved (a '+0 °' motion is not named)


@pytest.mark.parametrize("start_deg, end_deg, turn_deg", [(0.0, 90.0, 90.0), (0.0, 180.0, 180.0), (170.0, -170.0, 20.0),
                                                         (-30.0, 60.0, 90.0), (45.0, 45.0, 0.0)])
def test_a_torsion_is_ranked_by_the_turn_of_its_angle(start_deg, end_deg, turn_deg):
    from analysis.motions import TORSION_NAMING_SCALE_DEG, naming_scores

    cols = ["dihedral_sin[O2-C1-N3-H4]", "dihedral_cos[O2-C1-N3-H4]", "angle[O2-C1-N3]"]
    ref = np.array([np.sin(np.radians(start_deg)), np.cos(np.radians(start_deg)), 120.0])
    event = np.array([np.sin(np.radians(end_deg)), np.cos(np.radians(end_deg)), 125.0])
    score = naming_scores(cols, event, ref, TOPO)
    assert score[:2] == pytest.approx([turn_deg / TORSION_NAMING_SCALE_DEG] * 2)
    assert score[2] == pytest.approx(0.5)


def test_a_mean_over_opposite_twists_keeps_its_sin_cos_score():
    """Events twisting +90° and −90° from 0°: their mean (sin, cos) is (0, 0), a point without an angle; the torsion
    then ranks by its sin/cos change (cos 1 → 0: 1.0), not by a twist read from atan2(0, 0)."""
    from analysis.motions import naming_scores

    cols = ["dihedral_sin[O2-C1-N3-H4]", "dihedral_cos[O2-C1-N3-H4]"]
    assert naming_scores(cols, np.array([0.0, 0.0]), np.array([0.0, 1.0]), TOPO) == pytest.approx([0.0, 1.0])


def _methaniminium(twist_deg: float = 0.0, pyramid_deg: float = 0.0, hnc_deg: float = 121.0) -> np.ndarray:
    """H2C=NH2+ (C1 N2 H3 H4 on C1, H5 H6 on N2): C=N on x, the NH2 turned by ``twist_deg`` about it, the CH2
    hydrogens bent ``pyramid_deg`` out of their plane (towards +z), each H-N-C angle ``hnc_deg``."""
    xyz = [[0.0, 0.0, 0.0], [1.29, 0.0, 0.0]]
    for side in (1, -1):  # CH2
        a = np.radians(121.0)
        h = np.array([1.09 * np.cos(a), side * 1.09 * np.sin(a), 0.0])
        h = h + [0.0, 0.0, 1.09 * np.sin(np.radians(pyramid_deg))] - [0.0, 0.0, 0.0]
        xyz.append(h)
    t = np.radians(twist_deg)
    for side in (1, -1):  # NH2 turned about x
        a = np.radians(180.0 - hnc_deg)
        y, z = side * 1.01 * np.sin(a), 0.0
        xyz.append([1.29 + 1.01 * np.cos(a), y * np.cos(t) - z * np.sin(t), y * np.sin(t) + z * np.cos(t)])
    return np.array(xyz)


CH2NH2 = Topology(symbols=["C", "N", "H", "H", "H", "H"], names=["C1", "N2", "H3", "H4", "H5", "H6"],
                  bonds=[(0, 1), (0, 2), (0, 3), (1, 4), (1, 5)], rings=[])


def test_a_90_degree_twist_about_the_double_bond_is_named_before_an_angle_change():
    """Methaniminium twisted 90° about C=N with both H-N-C angles opened 12° (H-N-H closed 24°): the twist is the
    motion (3 units of 30°), the H-N-H closing (2.4 units of 10°) second; its sin/cos columns change by 1 each, and
    ranked by them the twist came after the closing."""
    from analysis.features.internal import featurize
    from analysis.motions import event_motions

    ref = featurize(_methaniminium()[None], CH2NH2)
    events = featurize(np.stack([_methaniminium(twist_deg=90.0, hnc_deg=133.0), _methaniminium(hnc_deg=133.0)]), CH2NH2)
    twisted, planar = event_motions(events, ref, CH2NH2, n=2)
    assert twisted[0].phrase == "C1-N2 torsion" and abs(twisted[0].change) == pytest.approx(90.0, abs=0.5)
    assert twisted[1].phrase == "H5-N2-H6 closing" and twisted[1].change == pytest.approx(-24.0, abs=0.5)
    assert "torsion" not in " ".join(m.phrase for m in planar)


def test_methyl_rotors_and_ring_bonds_do_not_twist():
    """1-iodopropane C1H3-C2H2-C3H2-I4: every torsion about C1-C2 turns a methyl hydrogen (a rotor); C2-C3 twists.
    In a ring (cyclopropane C5-C6-C7 on C3's place) the ring bond's torsions belong to its puckering."""
    from analysis.motions import _twist_bonds

    names = ["C1", "C2", "C3", "I4", "H5", "H6", "H7", "H8", "H9", "H10", "H11"]
    topo = Topology(symbols=[n.rstrip("0123456789") for n in names], names=names,
                    bonds=[(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (0, 6), (1, 7), (1, 8), (2, 9), (2, 10)], rings=[])
    cols = [f"dihedral_{f}[{q}]" for q in ("H5-C1-C2-C3", "C3-C2-C1-H6", "C1-C2-C3-I4", "H8-C2-C3-I4") for f in ("sin", "cos")]
    assert _twist_bonds(cols, topo) == {("C2", "C3"): [(4, 5), (6, 7)]}
    ring = Topology(symbols=["C", "C", "C", "H"], names=["C1", "C2", "C3", "H4"], bonds=[(0, 1), (1, 2), (0, 2), (0, 3)],
                    rings=[[0, 1, 2]])
    assert _twist_bonds(["dihedral_sin[H4-C1-C2-C3]", "dihedral_cos[H4-C1-C2-C3]"], ring) == {}


def _turned(xyz: np.ndarray, atoms, angle_deg: float) -> np.ndarray:
    """``xyz`` with ``atoms`` turned by ``angle_deg`` about the x axis (the C=N bond of :func:`_methaniminium`)."""
    t = np.radians(angle_deg)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(t), -np.sin(t)], [0.0, np.sin(t), np.cos(t)]])
    out = xyz.copy()
    out[list(atoms)] = xyz[list(atoms)] @ rot.T
    return out


@pytest.mark.parametrize("moves, twist_deg", [((((4, 5), 90.0),), 90.0),          # the NH2 turned rigidly
                                              ((((4,), 40.0),), 20.0),            # one N-H wagging: half of it
                                              ((((4,), 30.0), ((5,), -30.0)), 0.0)])  # the N pyramidalized: none
def test_the_twist_about_a_bond_is_the_mean_turn_of_its_torsions(moves, twist_deg):
    from analysis.features.internal import featurize
    from analysis.motions import _twist_bonds, _twist_deg

    xyz = _methaniminium()
    for atoms, angle in moves:
        xyz = _turned(xyz, atoms, angle)
    ref, event = featurize(_methaniminium()[None], CH2NH2), featurize(xyz[None], CH2NH2)
    cols = [c for c in ref.columns if c.startswith("dihedral")]
    pairs = _twist_bonds(cols, CH2NH2)[("C1", "N2")]
    assert len(pairs) == 4
    assert _twist_deg(event[cols].to_numpy()[0], ref[cols].to_numpy()[0], pairs) == pytest.approx(twist_deg, abs=1e-6)
