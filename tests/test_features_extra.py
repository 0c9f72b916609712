"""Pyramidalization, bond changes, conformer columns, bond perception vs MDAnalysis, and the real
cyclohexadiene ring opening."""

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.features import featurize
from analysis.features.geometry import distances, pyramidalization
from analysis.features.internal import clustering_columns
from analysis.io.discover import READERS
from analysis.io.mda import to_universe
from analysis.motions import important_motions
from analysis.topology import perceive_topology
from tests.conftest import shared


def _pyramid(height):
    """Centre 0 above three neighbours on a unit-ish triangle (n1, n2, n3 counter-clockwise seen from +z)."""
    a = np.radians([90.0, 210.0, 330.0])
    base = np.column_stack([np.cos(a), np.sin(a), np.zeros(3)])
    return np.vstack([[0.0, 0.0, height], base])


def test_pyramidalization_known_angles():
    # planar centre: 0°; ideal tetrahedral centre (h = d/3): arcsin(1/3) = 19.47°
    assert pyramidalization(_pyramid(0.0)[None], [0], [[1, 2, 3]])[0, 0] == pytest.approx(0.0, abs=1e-12)
    h = np.sqrt(1.0 / 8.0)  # d = sqrt(1 + h^2) = 3h for a tetrahedron with unit base radius
    assert np.sqrt(1 + h * h) == pytest.approx(3 * h)
    up = pyramidalization(_pyramid(h)[None], [0], [[1, 2, 3]])[0, 0]
    down = pyramidalization(_pyramid(-h)[None], [0], [[1, 2, 3]])[0, 0]
    assert up == pytest.approx(np.degrees(np.arcsin(1 / 3)), abs=1e-9) and up == pytest.approx(19.4712, abs=1e-4)
    assert down == pytest.approx(-up, abs=1e-12)  # umbrella inversion flips the sign


def test_featurize_adds_pyramidalization_conformer_and_bond_change():
    xyz = demo.equilibrium_geometry()
    top = perceive_topology(demo.SYMBOLS, xyz)
    frames = np.stack([xyz, xyz + np.random.default_rng(0).normal(0, 0.05, xyz.shape)])
    f = featurize(frames, top, families=["bonds", "bond_change", "pyramidalization", "conformer", "pucker"])
    three = [n for i, n in enumerate(top.names) if len(top.neighbors(i)) == 3]
    assert sorted(c[4:-1] for c in f.columns if c.startswith("pyr[")) == sorted(three)
    assert np.allclose(f[[c for c in f.columns if c.startswith("pyr[")]].iloc[0], 0.0, atol=1e-6)  # planar molecule
    changes = f[[c for c in f.columns if c.startswith("bond_change[")]]
    assert np.allclose(changes.iloc[0], 0.0, atol=2e-6)  # the topology stores the reference rounded to 1e-6 Å
    np.testing.assert_allclose(changes.iloc[1].to_numpy(), f[[c.replace("bond_change", "bond") for c in changes.columns]].iloc[1].to_numpy()
                               - distances(xyz, np.array(top.bonds)), atol=2e-6)
    assert f["conformer[ring1]"].iloc[0] == "planar" and pd.api.types.is_string_dtype(f["conformer[ring1]"])
    assert not any(c.startswith("conformer") for c in clustering_columns(f.columns))


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
    assert words == ["C1-C6 stretching"]


def test_user_atom_names_flow_into_feature_columns_and_conformer_labels():
    """A paper's numbering (atom_names in config, 1-based index -> name) is used in every column and label."""
    xyz = demo.equilibrium_geometry()
    ring_atoms = perceive_topology(demo.SYMBOLS, xyz).rings[0]
    paper = {i + 1: f"C{10 + k}" for k, i in enumerate(ring_atoms)}  # ring atoms renamed C10..C15
    top = perceive_topology(demo.SYMBOLS, xyz, atom_names=paper)
    bent = xyz.copy()
    bent[ring_atoms[0], 2] += 0.5  # lift one ring atom: an envelope with it as the flap
    f = featurize(np.stack([xyz, bent]), top, families=["pucker", "conformer", "bonds"])
    assert "pucker_z[C10:ring1]" in f.columns and any(c.startswith("bond[C10-") for c in f.columns)
    assert f["conformer[ring1]"].iloc[1] in ("envelope ¹⁰E", "envelope E₁₀")


def test_re_descriptor_is_equilibrium_over_current_distance():
    """RE descriptor (Dral et al. 2017): R_eq/R for every atom pair, here checked on a stretched pair."""
    from analysis.surrogate.descriptors import re_descriptor

    ref = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    moved = ref.copy()
    moved[1, 0] = 1.25  # pair (0, 1) from 1.0 to 1.25 Å; pair (0, 2) unchanged
    re = re_descriptor(moved[None], ref)[0]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = [np.linalg.norm(ref[i] - ref[j]) / np.linalg.norm(moved[i] - moved[j]) for i, j in pairs]
    assert sorted(np.round(re, 12)) == sorted(np.round(expected, 12))
    assert 0.8 in np.round(re, 12) and 1.0 in np.round(re, 12)


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
