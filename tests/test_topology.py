"""Perceived topology: bonds against the MDAnalysis guesser, stretched bonds kept, the real cyclohexadiene ring
opening, and a topology from a user reference geometry."""

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.features import featurize
from analysis.io.discover import READERS
from analysis.io.mda import to_universe
from analysis.motions import important_motions
from analysis.topology import perceive_topology
from tests.conftest import shared


@pytest.mark.parametrize("parts", [("newtonx", "cyclohexadiene_nx2.2", "TRAJ1"), ("newtonx", "pyrazine_nx2.6", "TRAJ1"),
                                   ("sharc", "ch2nh2_sharc2.0", "TRAJ_00002"), ("nexmd", "benzene", "reference_output")])
def test_topology_bonds_are_mdanalysis_guesser_bonds_and_the_expected_count(parts):
    folder = shared(*parts)
    t = READERS[parts[0]](folder)
    top = perceive_topology(t.symbols, t.coords_angstrom[0])
    u = to_universe(t)  # MDAnalysis DefaultGuesser (van der Waals radii, fudge 0.55), via its Universe API
    assert sorted(top.bonds) == sorted(tuple(sorted(b)) for b in u.bonds.indices.tolist())
    # chemistry: C6H8 14 bonds, pyrazine C4H4N2 10, CH2NH2+ 5, benzene 12; one ring where there is one
    expected = {"cyclohexadiene_nx2.2": (14, 1), "pyrazine_nx2.6": (10, 1), "ch2nh2_sharc2.0": (5, 0), "benzene": (12, 1)}[parts[1]]
    assert (len(top.bonds), len(top.rings)) == expected



def test_wigner_stretched_c_h_bond_is_kept_by_the_mdanalysis_guesser():
    """Cyclohexadiene TRAJ1 starts with a C2-H8 bond stretched to 1.35 Å: 1.2 x covalent radii (1.28 Å)
    drops it, leaving H8 unbonded; MDAnalysis' van der Waals criterion keeps it."""
    t = READERS["newtonx"](shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ1"))
    assert (1, 7) in perceive_topology(t.symbols, t.coords_angstrom[0]).bonds
    assert (1, 7) not in perceive_topology(t.symbols, t.coords_angstrom[0], bond_guesser="covalent").bonds



def test_real_cyclohexadiene_ring_opening_breaks_c1_c6():
    """1,3-cyclohexadiene → hexatriene: the sp3–sp3 C–C bond of the ring (C1–C6 here) breaks."""
    opened, reference, finals = [], [], []
    for root in ("cyclohexadiene_nx2.2", "cyclohexadiene_nx2.2_b"):
        for folder in sorted(shared("newtonx", root).glob("TRAJ*")):
            t = READERS["newtonx"](folder)
            top = perceive_topology(t.symbols, t.coords_angstrom[0])
            assert top.rings == [[0, 1, 2, 3, 4, 5]]
            f = featurize(t.coords_angstrom, top, families=["bonds", "angles", "pucker"])
            bonds = f[[c for c in f.columns if c.startswith("bond[C") and "-C" in c]]
            longest = bonds.iloc[-1].idxmax()
            if bonds.iloc[-1].max() > 3.0:
                opened.append(folder.name)
                assert longest == "bond[C1-C6]"
                assert 1.4 < bonds[longest].iloc[0] < 1.65  # a single C-C bond at t = 0
                reference.append(f.iloc[[0]])
                finals.append(f.iloc[[-1]])
    assert opened == ["TRAJ2", "TRAJ3", "TRAJ49"]
    words = important_motions(pd.concat(finals), pd.concat(reference), top, n=1)
    assert words == ["C1-C6 stretching (ring opening)"]  # > 3 Å: hexatriene, the ring is open



def test_topology_from_a_user_reference_xyz(small_demo, tmp_path):
    from analysis.features.stage import build_topology
    from analysis.ingest import ingest_batch
    from analysis.qc import run_qc

    out, _ = small_demo
    ingest_batch(out / "ensemble", tmp_path / "s.npz", tmp_path / "t.csv")
    run_qc([tmp_path / "s.npz"], [tmp_path / "t.csv"], tmp_path / "qc.csv", tmp_path / "t.parquet")
    xyz = demo.equilibrium_geometry()
    ref = tmp_path / "ref.xyz"
    ref.write_text(f"{len(xyz)}\nminimum\n" + "".join(f"{s} {x:.6f} {y:.6f} {z:.6f}\n" for s, (x, y, z) in zip(demo.SYMBOLS, xyz)))
    top = build_topology([tmp_path / "s.npz"], tmp_path / "t.parquet", tmp_path / "top.json", reference_xyz=ref)
    np.testing.assert_allclose(top.reference_angstrom, xyz, atol=1e-6)
    assert len(top.bonds) == 13 and len(top.rings) == 1
    ref.write_text(f"{len(xyz)}\nminimum\n" + "".join(f"{s} {x:.6f} {y:.6f} {z:.6f}\n" for s, (x, y, z) in zip(demo.SYMBOLS[::-1], xyz)))
    with pytest.raises(ValueError, match="same atoms in the same order"):
        build_topology([tmp_path / "s.npz"], tmp_path / "t.parquet", tmp_path / "top.json", reference_xyz=ref)


def test_both_bond_perceptions_find_the_bonds_of_pyrrole_and_butadiene():
    from analysis.topology import guess_bonds_mdanalysis, perceive_bonds

    pyrrole = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (0, 5), (1, 6), (2, 7), (3, 8), (4, 9)]
    butadiene = [(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (1, 6), (2, 7), (3, 8), (3, 9)]
    for name, expected in (("pyrrole", pyrrole), ("butadiene", butadiene)):
        mol = demo.MOLECULES[name]
        want = sorted(tuple(sorted(b)) for b in expected)
        assert sorted(perceive_bonds(mol.symbols, mol.xyz)) == want
        assert sorted(tuple(sorted(b)) for b in guess_bonds_mdanalysis(mol.symbols, mol.xyz)) == want
        assert sorted(tuple(sorted(b)) for b in perceive_bonds(mol.symbols, mol.xyz, method="mdanalysis")) == want
    with pytest.raises(ValueError, match="expected 'mdanalysis' or 'covalent'"):
        perceive_bonds(["H", "H"], np.zeros((2, 3)), method="guess")


def test_consensus_bonds_keep_a_ring_bond_one_noisy_frame_stretched_and_drop_a_passing_contact():
    """Thiophene (5 ring bonds + 4 C-H, known answer): in one of five first frames thermal noise stretches S1-C5 past
    the guesser's cutoff (that frame alone has no ring) and pushes H6 into bonding distance of C3; the majority
    keeps the ring and leaves the contact out. Where the frames agree the first frame's bonds come back in its order."""
    from bench.independent_planted import thiophene

    from analysis.topology import consensus_bonds, perceive_bonds, perceive_rings

    symbols, xyz = thiophene()
    expected = {(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (1, 5), (2, 6), (3, 7), (4, 8)}
    frames = np.array([xyz] * 5)
    stretched = frames[2]
    stretched[4] += 0.9 * (xyz[4] - xyz[0]) / np.linalg.norm(xyz[4] - xyz[0])  # S1-C5 1.71 -> 2.61 A
    stretched[5] += 0.8 * (xyz[6] - xyz[5]) / np.linalg.norm(xyz[6] - xyz[5])  # H6 towards H7
    one = {tuple(sorted(b)) for b in perceive_bonds(symbols, stretched, method="mdanalysis")}
    assert (0, 4) not in one and (2, 5) in one and not any(len(r) == 5 for r in perceive_rings(len(symbols), sorted(one)))
    bonds = consensus_bonds(symbols, frames, method="mdanalysis")
    assert {tuple(sorted(b)) for b in bonds} == expected
    assert [tuple(b) for b in bonds] == [tuple(b) for b in perceive_bonds(symbols, xyz, method="mdanalysis")]


def _tbp_fe_co5():
    """Fe(CO)5, trigonal bipyramid: Fe-C 1.81 Å axial, 1.83 Å equatorial, C-O 1.15 Å (gas-phase electron diffraction)."""
    dirs = [np.array([0, 0, 1.0]), np.array([0, 0, -1.0])] + [np.array([np.cos(a), np.sin(a), 0.0]) for a in np.radians([0, 120, 240])]
    fe = np.zeros(3)
    cs = [fe + (1.81 if k < 2 else 1.83) * d for k, d in enumerate(dirs)]
    os_ = [c + 1.15 * d for c, d in zip(cs, dirs)]
    return ["Fe"] + ["C"] * 5 + ["O"] * 5, np.array([fe, *cs, *os_])


def test_long_heavy_atom_and_metal_bonds_are_perceived_and_nothing_else():
    """The van der Waals rule (0.55 × sum) misses C–I (2.14 Å), S–S (2.05 Å) and every bond of an element without a
    van der Waals radius in MDAnalysis (Fe): the covalent rule (1.2 × Cordero radii) finds them; textbook
    geometries of CH3I, CH3SSCH3 (heavy atoms only) and Fe(CO)5 give exactly their Lewis bonds."""
    ch3i = ["C", "I", "H", "H", "H"], np.array([[0, 0, 0], [0, 0, 2.14], [1.03, 0, -0.36], [-0.515, 0.892, -0.36], [-0.515, -0.892, -0.36]])
    assert perceive_topology(*ch3i).bonds == [(0, 1), (0, 2), (0, 3), (0, 4)]
    # C-S 1.81 Å, S-S 2.04 Å, C-S-S 104°, C-S-S-C 84°
    s1, s2 = np.array([0.0, 0.0, 0.0]), np.array([2.04, 0.0, 0.0])
    a = np.radians(104.0)
    c1 = s1 + 1.81 * np.array([np.cos(np.pi - a), np.sin(np.pi - a), 0.0]) * np.array([-1, 1, 1])
    t = np.radians(84.0)
    c2 = s2 + 1.81 * np.array([-np.cos(np.pi - a), np.sin(np.pi - a) * np.cos(t), np.sin(np.pi - a) * np.sin(t)]) * np.array([-1, 1, 1])
    top = perceive_topology(["C", "S", "S", "C"], np.array([c1, s1, s2, c2]))
    assert top.bonds == [(0, 1), (1, 2), (2, 3)] and not top.rings
    fe = perceive_topology(*_tbp_fe_co5())
    assert fe.bonds == sorted([(0, k) for k in range(1, 6)] + [(k, k + 5) for k in range(1, 6)])


def test_no_torsion_through_a_nearly_linear_angle():
    """A torsion a-b-c-d is undefined where a-b-c or b-c-d is linear (M-C≡O, C≡N): thermal noise alone turns it
    through the whole circle. Fe(CO)5 keeps none, acetonitrile none (H-C-C≡N), butadiene every one."""
    assert perceive_topology(*_tbp_fe_co5()).dihedrals() == []
    c1, c2, n = np.zeros(3), np.array([1.46, 0.0, 0.0]), np.array([2.62, 0.0, 0.0])
    hs = [np.array([-0.36, 1.03 * np.cos(a), 1.03 * np.sin(a)]) for a in np.radians([0.0, 120.0, 240.0])]
    acetonitrile = perceive_topology(["C", "C", "N", "H", "H", "H"], np.array([c1, c2, n, *hs]))
    assert len(acetonitrile.bonds) == 5 and acetonitrile.dihedrals() == []
    from analysis.topology import Topology

    butadiene = perceive_topology(list(demo.MOLECULES["butadiene"].symbols), demo.MOLECULES["butadiene"].xyz)
    unfiltered = Topology(butadiene.symbols, butadiene.names, butadiene.bonds, butadiene.rings)  # no geometry to judge by
    assert butadiene.dihedrals() == unfiltered.dihedrals() and len(unfiltered.dihedrals()) > 0


def test_contacts_are_non_bonded_heavy_atoms_that_could_close_a_ring():
    """An open cZc-hexatriene arc (C1...C6 2.98 A): its ends are a contact, with the other pairs 3-4 bonds apart;
    pyrrole has none (its heavy atoms all share the ring; no H counts); s-trans butadiene's C1...C4 (3 bonds,
    3.69 A) is one."""
    radius, step = 1.721, np.radians(48.0)
    arc = np.array([[radius * np.cos(k * step), radius * np.sin(k * step), 0.0] for k in range(6)])
    hexatriene = perceive_topology(["C"] * 6, arc)
    assert hexatriene.bonds == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert hexatriene.contacts() == [(0, 3), (0, 4), (0, 5), (1, 4), (1, 5), (2, 5)]
    assert np.linalg.norm(arc[0] - arc[5]) == pytest.approx(2.98, abs=0.01)
    pyrrole = demo.MOLECULES["pyrrole"]
    assert perceive_topology(list(pyrrole.symbols), pyrrole.xyz).contacts() == []
    butadiene = perceive_topology(list(demo.MOLECULES["butadiene"].symbols), demo.MOLECULES["butadiene"].xyz)
    assert [(butadiene.names[i], butadiene.names[j]) for i, j in butadiene.contacts()] == [("C1", "C4")]


def test_fragments_and_the_contacts_between_them():
    """Two stacked ethylenes: two fragments, and their four C...C pairs (3.4-3.65 A) are contacts; featurized, those
    are fragment_contact columns, which the clustering keeps, while a contact within one molecule is for naming."""
    from analysis.features.internal import clustering_columns
    from bench.independent_planted import ethylene_dimer, hexatriene

    symbols, xyz = ethylene_dimer()
    top = perceive_topology(symbols, xyz)
    assert top.fragments() == [0] * 6 + [1] * 6
    assert top.contacts() == [(0, 6), (0, 7), (1, 6), (1, 7)]
    columns = list(featurize(xyz[None], top).columns)
    inter = [c for c in columns if c.startswith("fragment_contact[")]
    assert inter == ["fragment_contact[C1-C7]", "fragment_contact[C1-C8]", "fragment_contact[C2-C7]", "fragment_contact[C2-C8]"]
    assert set(inter) <= set(clustering_columns(columns))
    symbols, xyz = hexatriene()
    own = list(featurize(xyz[None], perceive_topology(symbols, xyz)).columns)
    assert "contact[C1-C6]" in own and "contact[C1-C6]" not in clustering_columns(own)


def test_mean_distance_matrix_in_blocks_equals_the_mean_of_every_frame():
    from analysis.topology import distance_matrix, mean_distance_matrix

    xyz = np.random.default_rng(0).normal(size=(37, 11, 3))
    np.testing.assert_allclose(mean_distance_matrix(xyz, max_bytes=32 * 11 * 11 * 5), distance_matrix(xyz).mean(axis=0), atol=1e-12)
