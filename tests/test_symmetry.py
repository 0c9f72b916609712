"""Symmetry-equivalent atoms (analysis.symmetry): automorphisms, geometric symmetries, canonical relabelling."""

import numpy as np
import pytest

from analysis import symmetry
from analysis.demo import MOLECULES
from analysis.topology import perceive_topology


def _symmetries(name):
    mol = MOLECULES[name]
    top = perceive_topology(list(mol.symbols), mol.xyz)
    return mol, top, symmetry.geometric_symmetries(mol.xyz, symmetry.automorphisms(top.symbols, top.bonds))


def test_pyrrole_has_its_c2_axis_and_cytosine_only_the_identity():
    _, _, pyr = _symmetries("pyrrole")
    assert pyr == [(tuple(range(10)), False), ((0, 4, 3, 2, 1, 5, 9, 8, 7, 6), False)]
    mol, top, cyt = _symmetries("cytosine")
    # swapping the two NH2 hydrogens is a graph automorphism but not a symmetry of the molecule
    assert len(symmetry.automorphisms(top.symbols, top.bonds)) == 2 and cyt == [(tuple(range(13)), False)]


def test_a_mirror_only_symmetry_is_found_as_improper():
    """A nonplanar Cs molecule (a bent X-C-X' with out-of-plane H): the swap needs a reflection."""
    xyz = np.array([[0.0, 0.0, 0.0], [1.2, 0.9, 0.0], [-1.2, 0.9, 0.0], [0.0, -0.6, 0.9], [0.0, -0.6, -0.2]])
    symbols = ["C", "Cl", "Cl", "H", "F"]
    perms = symmetry.automorphisms(symbols, [(0, 1), (0, 2), (0, 3), (0, 4)])
    found = symmetry.geometric_symmetries(xyz, perms)
    assert ((0, 2, 1, 3, 4), False) in found or ((0, 2, 1, 3, 4), True) in found
    chiral = xyz.copy()
    chiral[1] += [0.0, 0.0, 0.6]  # one Cl out of the mirror plane: no symmetry left
    assert symmetry.geometric_symmetries(chiral, perms, tolerance=0.1) == [(tuple(range(5)), False)]


def test_an_equivalent_cleavage_is_relabelled_onto_the_canonical_one():
    """N1–C5 ring opening of pyrrole becomes the N1–C2 ring opening (known answer: the planted C2 geometry)."""
    from analysis.demo import Channel, channel_displacement

    mol, _, syms = _symmetries("pyrrole")
    open_c2 = mol.xyz + channel_displacement(mol.xyz, Channel("a", 1, 1, 1, (("translate", (1, 6), "bond:0", 0.6),)), 1.0, mol.plane)[0]
    open_c5 = mol.xyz + channel_displacement(mol.xyz, Channel("b", 1, 1, 1, (("translate", (4, 9), "bond:0", 0.6),)), 1.0, mol.plane)[0]
    rng = np.random.default_rng(0)
    frames = np.stack([open_c2, open_c5]) + rng.normal(0, 0.03, (2, 10, 3))
    canonical, choice = symmetry.canonicalize(frames, mol.xyz, syms)
    assert choice.tolist() == [0, 1]
    d = np.linalg.norm(canonical[1, 0] - canonical[1, 1])  # N1–C2 in the relabelled C5 opening
    assert abs(d - np.linalg.norm(open_c2[0] - open_c2[1])) < 0.1
    assert symmetry.kabsch_rmsd(canonical[1], open_c2)[1] < 0.1


def test_a_planar_molecule_keeps_up_and_down_apart():
    """Puckering up vs down of a planar ring are mirror images through the plane, not a relabelling."""
    from analysis.demo import Channel, channel_displacement

    mol, _, syms = _symmetries("pyrrole")
    up = Channel("up", 1, 1, 1, (("translate", (2, 7), "normal", 0.5),))
    down = Channel("down", 1, 1, 1, (("translate", (2, 7), "normal", -0.5),))
    geoms = np.stack([mol.xyz + channel_displacement(mol.xyz, c, 1.0, mol.plane)[0] for c in (up, down)])
    canonical, _ = symmetry.canonicalize(geoms, mol.xyz, syms)
    assert symmetry.kabsch_rmsd(canonical[0], canonical[1])[1] > 0.2


def test_merged_phrase_names_both_equivalent_bonds():
    names = ["C1", "C2", "C3", "C4", "C5", "N6", "N7"]
    swap = (0, 1, 3, 2, 4, 6, 5)
    assert symmetry.merged_phrase("C3-N6 stretching", names, [tuple(range(7)), swap]) == "C3-N6 / C4-N7 stretching"
    assert symmetry.merged_phrase("C1 puckering", names, [tuple(range(7)), swap]) == "C1 puckering"
    assert symmetry.merged_phrase("C1 puckering", names, [tuple(range(7))]) == "C1 puckering"


def test_restore_undoes_a_relabelling_proper_or_mirrored():
    rng = np.random.default_rng(3)
    coords = rng.normal(size=(4, 7, 3))
    perm = tuple(rng.permutation(7))
    for improper in (False, True):
        relabelled = symmetry.apply(coords, perm, improper)
        assert not np.allclose(relabelled, coords)
        np.testing.assert_array_equal(symmetry.restore(relabelled, perm, improper), coords)


def test_an_event_is_named_in_its_own_labels_after_canonical_relabelling():
    """Pyrrole's N1–C5 ring opening is clustered as the canonical N1–C2 opening, and still named N1–C5 on its own
    (known answer: the planted bond and its length from the coordinates)."""
    import pandas as pd

    from analysis.demo import Channel, channel_displacement
    from analysis.features.internal import featurize
    from analysis.report.structures import EventGeometries, event_motion_list

    mol, top, syms = _symmetries("pyrrole")
    top.symmetries = [[list(perm), improper] for perm, improper in syms]
    open_c5 = mol.xyz + channel_displacement(mol.xyz, Channel("b", 1, 1, 1, (("translate", (4, 9), "bond:0", 0.6),)), 1.0, mol.plane)[0]
    canonical, choice = symmetry.canonicalize(open_c5[None], mol.xyz, syms)
    assert choice.tolist() == [1]
    geoms = EventGeometries(pd.DataFrame({"trajectory_id": ["T1"], "frame": [7], "symmetry": choice}), canonical, mol.xyz, "S1–S0")
    reference = featurize(np.stack([mol.xyz] * 3), top)
    (motions,) = event_motion_list(geoms, reference, top, n=2)
    stretch = np.linalg.norm(open_c5[0] - open_c5[4]) - np.linalg.norm(mol.xyz[0] - mol.xyz[4])
    assert motions[0].phrase == f"{top.names[0]}-{top.names[4]} stretching (ring opening)"  # 1.37 + 0.6 Å > 1.79 Å
    assert motions[0].change == pytest.approx(stretch, abs=1e-9)


def test_a_relabelled_event_of_a_thermally_distorted_run_is_compared_with_its_own_first_frame():
    """One pyrrole run, its first frame thermally distorted (0.05 Å), its event 0.03 Å further along the N1-H6 bond
    and relabelled by the C2 rotation; the pipeline's FC reference is that first frame's features relabelled the same
    way. Known answer: the event's largest motion is the N1-H6 stretch of +0.03 Å, not the difference between two
    atoms' thermal distortions."""
    import pandas as pd

    from analysis.features.internal import featurize
    from analysis.report.structures import MOTION_FAMILIES, EventGeometries, event_motion_list

    mol, top, syms = _symmetries("pyrrole")
    top.symmetries = [[list(perm), improper] for perm, improper in syms]
    first = mol.xyz + np.random.default_rng(3).normal(scale=0.05, size=mol.xyz.shape)
    bond = (first[5] - first[0]) / np.linalg.norm(first[5] - first[0])  # N1 (index 0) -> H6 (index 5)
    event = first.copy()
    event[5] += 0.03 * bond
    relabelled = symmetry.relabel(event[None], syms, [1])
    reference = featurize(symmetry.apply(first[None], *syms[1]), top, families=MOTION_FAMILIES)  # as the frames store it
    geoms = EventGeometries(pd.DataFrame({"trajectory_id": ["T1"], "frame": [1], "symmetry": [1]}), relabelled, first, "S1–S0")
    (motions,) = event_motion_list(geoms, reference, top, n=2)
    assert motions[0].phrase == f"{top.names[0]}-{top.names[5]} stretching"
    assert motions[0].change == pytest.approx(0.03, abs=2e-3)


def _n1_puckers(n_up, n_down, amplitude, noise, seed):
    """Pyrrole geometries with N1 (on the C2 axis) and its H puckered up or down by ``amplitude`` Å, plus noise."""
    from analysis.demo import Channel, channel_displacement

    mol, _, syms = _symmetries("pyrrole")
    rng = np.random.default_rng(seed)
    geoms = []
    for sign in [1] * n_up + [-1] * n_down:
        channel = Channel("n1", 1, 1, 1, (("translate", (0, 5), "normal", sign * amplitude),))
        geoms.append(mol.xyz + channel_displacement(mol.xyz, channel, 1.0, mol.plane)[0] + rng.normal(0, noise, mol.xyz.shape))
    return mol, syms, np.array(geoms)


def _n1_face(canonical, mol):
    """Side of the ring plane N1 ends on, in each relabelled geometry rotated onto the reference (±1)."""
    aligned, _ = symmetry.kabsch_rmsd(canonical, mol.xyz)
    centred = mol.xyz - mol.xyz.mean(axis=0)
    normal = np.linalg.svd(centred[:5])[2][2]
    return np.sign((aligned[:, 0] - centred[0]) @ normal)


def test_an_atom_on_the_c2_axis_puckering_up_or_down_is_one_motion():
    """Pyrrole's C2 axis runs through N1 in the ring plane: the rotation about it maps N1 up onto N1 down, so
    every N1 pucker, either way, is relabelled onto one face (known answer: the rotation's geometry), clearly
    (0.5 Å against 0.02 Å noise) by the rule on each geometry alone."""
    mol, syms, geoms = _n1_puckers(6, 6, 0.5, 0.02, 0)
    choice = symmetry.canonical_choice(geoms, mol.xyz, syms)
    canonical = np.array([symmetry.apply(g, *syms[k]) for g, k in zip(geoms, choice)])
    faces = _n1_face(canonical, mol)
    assert len(set(faces)) == 1
    assert sorted(choice[:6]) != sorted(choice[6:]) or set(choice) == {0, 1}  # up and down take different images


def test_coherent_choice_puts_a_weak_on_axis_pucker_on_one_face():
    """A weak N1 pucker (0.25 Å) under 0.06 Å noise, half planted up and half down: one geometry alone cannot tell
    its faces apart reliably (the per-geometry rule splits them in these seeds), the ensemble can."""
    split = 0
    for seed in range(3):
        mol, syms, geoms = _n1_puckers(10, 10, 0.25, 0.06, seed)
        own = symmetry.canonical_choice(geoms, mol.xyz, syms)
        split += len(set(_n1_face(np.array([symmetry.apply(g, *syms[k]) for g, k in zip(geoms, own)]), mol))) > 1
        choice = symmetry.coherent_choice(geoms, mol.xyz, syms)
        canonical = np.array([symmetry.apply(g, *syms[k]) for g, k in zip(geoms, choice)])
        assert len(set(_n1_face(canonical, mol))) == 1, seed
    assert split >= 2  # the case is hard for the per-geometry rule


def test_coherent_choice_keeps_equivalent_cleavages_together_and_groups_apart():
    """Coherence does not undo the merge of symmetry-equivalent ring openings, and settles each group alone."""
    from analysis.demo import Channel, channel_displacement

    mol, _, syms = _symmetries("pyrrole")
    rng = np.random.default_rng(1)
    geoms = []
    for atoms in [(1, 6)] * 5 + [(4, 9)] * 5:
        channel = Channel("open", 1, 1, 1, (("translate", atoms, "bond:0", 0.6),))
        geoms.append(mol.xyz + channel_displacement(mol.xyz, channel, 1.0, mol.plane)[0] + rng.normal(0, 0.03, mol.xyz.shape))
    choice = symmetry.coherent_choice(np.array(geoms), mol.xyz, syms, groups=["a"] * 5 + ["b"] * 5)
    assert choice.tolist() == [0] * 5 + [1] * 5


def test_symmetrized_reference_is_exactly_symmetric():
    mol, _, syms = _symmetries("pyrrole")
    noisy = mol.xyz + np.random.default_rng(0).normal(0, 0.03, mol.xyz.shape)
    assert symmetry.kabsch_rmsd(symmetry.apply(noisy, *syms[1]), noisy)[1] > 0.01
    sym = symmetry.symmetrized(noisy, syms)
    assert symmetry.kabsch_rmsd(symmetry.apply(sym, *syms[1]), sym)[1] < 1e-9
    assert symmetry.kabsch_rmsd(sym, noisy)[1] < 0.05


def test_sign_flips_of_a_face_swapping_rotation():
    """The C2 rotation of pyrrole reverses its ring's order: a canonical N1 pucker [+] is the event's own [-], a
    bond keeps its sign, C3's pucker maps to C4's with the sign turned."""
    from analysis.motions import symmetry_sign_flips

    mol, top, syms = _symmetries("pyrrole")
    top.symmetries = [[list(p), imp] for p, imp in syms]
    top.symmetry_reference_angstrom = mol.xyz.tolist()
    assert symmetry_sign_flips("pucker_z[N1:ring1]", top, [0, 1]) == [False, True]
    assert symmetry_sign_flips("pucker_z[C3:ring1]", top, [0, 1]) == [False, True]
    assert symmetry_sign_flips("bond[N1-C2]", top, [0, 1]) == [False, False]
    assert symmetry.merged_phrase("N1 puckering [+]", top.names, [p for p, _ in syms], [False, True]) == "N1 puckering [+] / [-]"
    assert symmetry.merged_phrase("C3 puckering [+]", top.names, [p for p, _ in syms], [False, True]) == \
        "C3 puckering [+] / C4 puckering [-]"


def test_a_channel_names_a_symmetric_pair_once_and_then_its_next_motion():
    """Relabelled events of pyrrole that stretch N1–C2 and N1–C5 alike (+0.3 Å) and bend C2-N1-C5 by −12°: the two
    bonds are one motion on equivalent atoms, "N1-C2 / N1-C5 stretching", and the second motion is the next one,
    not the same pair again."""
    import pandas as pd

    from analysis.features.internal import featurize
    from analysis.report.build import channel_table

    mol, top, syms = _symmetries("pyrrole")
    top.symmetries = [[list(p), imp] for p, imp in syms]
    reference = featurize(np.stack([mol.xyz] * 2), top)
    names = top.names
    events = pd.concat([reference.iloc[[0]]] * 4, ignore_index=True)
    events[f"bond[{names[0]}-{names[1]}]"] += 0.30
    events[f"bond[{names[0]}-{names[4]}]"] += 0.30
    angle = next(c for c in events if c.startswith("angle[") and c.split("[")[1].startswith((f"{names[1]}-{names[0]}-", f"{names[4]}-{names[0]}-")))
    events[angle] -= 12.0
    key = pd.DataFrame({"trajectory_id": [f"T{k}" for k in range(4)], "frame": [5] * 4})
    events = pd.concat([key.assign(symmetry=[0, 1, 0, 1]), events], axis=1)
    assign = key.assign(channel="A1B1", event_time_fs=10.0, kind="hop")
    row = channel_table(assign, events, reference, top).iloc[0]
    assert row["important_motion"] == f"{names[0]}-{names[1]} / {names[0]}-{names[4]} stretching"
    assert row["second_motion"].endswith("closing") and "stretching" not in row["second_motion"]


def test_a_motion_with_its_own_symmetry_is_not_folded_by_the_canonical_choice():
    """A C1/C4 boat of benzene is the same motion turned end for end (C1 <-> C4): choosing between those two
    relabellings by each event's noise puts the larger of the two equal amplitudes on C1 in every event, and the
    channel drifts towards a C1 envelope (measured: a planted envelope and boat merged into one channel). Nearly
    every noisy boat (a very noisy one may differ) must take the same relabelling, and over 5 x 40 boats the
    Cremer-Pople heights of C1 and C4 must stay equal on average (noise-folded: C1 higher by 0.014 A)."""
    from bench.independent_planted import benzene, pucker

    from analysis.features.geometry import cremer_pople

    symbols, xyz = benzene()
    ring = list(range(6))
    syms = symmetry.geometric_symmetries(xyz, symmetry.automorphisms(symbols, perceive_topology(symbols, xyz).bonds))
    asymmetry = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        boats = np.array([xyz + pucker(xyz, ring, (0, 6, 3, 9), 0.4 * rng.uniform(0.85, 1.15)) + rng.normal(0, 0.05, xyz.shape)
                          for _ in range(40)])
        choice = symmetry.coherent_choice(boats, xyz, syms)
        assert np.bincount(choice).max() >= 0.9 * len(choice)  # noise-chosen: 16-24 of 40 on each relabelling
        z = cremer_pople(symmetry.relabel(boats, syms, choice), ring)["z"]
        asymmetry.append(np.abs(z[:, 0]).mean() - np.abs(z[:, 3]).mean())
    assert abs(np.mean(asymmetry)) < 0.006


@pytest.mark.parametrize("n_carbons", [8, 20, 40])
def test_symmetries_of_a_long_chain_are_found_past_the_automorphism_limit(n_carbons):
    """An all-trans alkane has C2h symmetry (4 operations) but 2^(n-2) x 6^2 x 2 bond-graph automorphisms (CH2 and
    CH3 hydrogens swapped): past 5,000 the first 5,000 held only local swaps. The heavy-atom graph, completed on the
    hydrogens, gives the 4 operations at every length, the same as every automorphism tested where that is possible
    (C8: 9,216); a local swap of two H of one CH2 is no symmetry, though in C40 its RMSD is under the tolerance."""
    from bench.independent_planted import alkane

    symbols, xyz = alkane(n_carbons)
    bonds = perceive_topology(symbols, xyz).bonds
    found = symmetry.geometric_symmetries(xyz, symmetry.candidate_permutations(symbols, bonds, xyz))
    assert len(found) == 4
    if n_carbons == 8:
        everything = symmetry.automorphisms(symbols, bonds, max_count=10**5)
        assert len(everything) == 2 ** 6 * 6 ** 2 * 2 and sorted(symmetry.geometric_symmetries(xyz, everything)) == sorted(found)
    swap = list(range(len(symbols)))
    h = n_carbons + 5  # the two hydrogens of the third carbon (the first has three, the second two)
    swap[h], swap[h + 1] = swap[h + 1], swap[h]
    if n_carbons == 40:
        assert symmetry.kabsch_rmsd(xyz[swap], xyz)[1] < symmetry.TOLERANCE_ANGSTROM
    assert symmetry.geometric_symmetries(xyz, [tuple(swap)]) == [(tuple(range(len(symbols))), False)]


def test_a_homonuclear_diatomic_is_relabelled_without_failing():
    """I2: its one symmetry swaps the atoms. The principal axes of two atoms are three as of any molecule (a 20-run
    I2 ensemble stopped in event_symmetry: 'matmul ... size 2 is different from 3'); a stretched and a compressed
    bond are told apart by their length, never by the labels."""
    reference = np.array([[0.0, 0.0, 0.0], [2.67, 0.0, 0.0]])
    syms = symmetry.geometric_symmetries(reference, symmetry.candidate_permutations(["I", "I"], [(0, 1)], reference))
    assert [tuple(p) for p, _ in syms] == [(0, 1), (1, 0)]
    events = np.array([[[0.0, 0.0, 0.0], [3.5, 0.1, 0.0]], [[0.1, 0.0, 0.0], [2.5, 0.0, 0.0]], [[0.0, 0.0, 0.0], [4.1, 0.0, 0.1]]])
    choice = symmetry.coherent_choice(events, reference, syms)
    assert choice.shape == (3,) and set(choice) <= {0, 1}
    lengths = np.linalg.norm(np.diff(symmetry.relabel(events, syms, choice), axis=1)[:, 0], axis=-1)
    np.testing.assert_allclose(lengths, np.linalg.norm(np.diff(events, axis=1)[:, 0], axis=-1))
