"""Pyramidalization, bond changes, conformer columns and user atom names in the feature table (known answers)."""

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.features import featurize
from analysis.features.geometry import distances, pyramidalization
from analysis.features.internal import clustering_columns
from analysis.topology import perceive_topology


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
