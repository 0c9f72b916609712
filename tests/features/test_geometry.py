import numpy as np
import pytest

from analysis import demo
from analysis.features import cremer_pople, dihedrals, featurize
from analysis.features.geometry import out_of_plane, ring_normal
from analysis.topology import perceive_rings, perceive_topology
from tests.conftest import shared


def ring6(z, radius=1.45):
    """Six ring atoms on a circle with prescribed out-of-plane displacements z (Å)."""
    ang = np.arange(6) * np.pi / 3
    return np.column_stack([radius * np.cos(ang), radius * np.sin(ang), z])


def test_planar_ring_has_zero_amplitude():
    cp = cremer_pople(ring6(np.zeros(6)), range(6))
    assert cp["Q"] == pytest.approx(0.0, abs=1e-12)


def test_chair_has_theta_0_or_180():
    a = 0.25
    cp = cremer_pople(ring6(a * np.array([1, -1, 1, -1, 1, -1])), range(6))
    assert cp["Q"] == pytest.approx(a * np.sqrt(6), rel=1e-9)
    assert min(cp["theta"], 180 - cp["theta"]) == pytest.approx(0.0, abs=1e-6)


def test_boat_has_theta_90_and_phi_multiple_of_60():
    # pure q2 boat: z_j ∝ cos(4πj/6 + φ) with φ = 0
    z = 0.3 * np.cos(4 * np.pi * np.arange(6) / 6)
    cp = cremer_pople(ring6(z), range(6))
    assert cp["theta"] == pytest.approx(90.0, abs=1e-6)
    assert (cp["phi"] % 60.0) == pytest.approx(0.0, abs=1e-6) or (cp["phi"] % 60.0) == pytest.approx(60.0, abs=1e-6)


def test_cremer_pople_invariant_under_rotation_and_translation():
    rng = np.random.default_rng(0)
    x = ring6(rng.normal(0, 0.2, 6))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    y = x @ q.T + np.array([3.0, -1.0, 2.0])
    a, b = cremer_pople(x, range(6)), cremer_pople(y, range(6))
    for key in ("Q", "theta", "phi"):
        assert a[key] == pytest.approx(b[key], abs=1e-9)


def test_cremer_pople_vectorized_over_frames():
    rng = np.random.default_rng(1)
    frames = np.stack([ring6(rng.normal(0, 0.2, 6)) for _ in range(7)])
    batch = cremer_pople(frames, range(6))
    for k in range(7):
        assert batch["Q"][k] == pytest.approx(cremer_pople(frames[k], range(6))["Q"])


def test_dihedrals_match_mdanalysis_on_real_frames():
    from MDAnalysis.lib.distances import calc_dihedrals

    from analysis.io.newtonx import read_newtonx

    t = read_newtonx(shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ1"))
    top = perceive_topology(t.symbols, t.coords_angstrom[0])
    quads = np.array(top.dihedrals())
    ours = np.radians(dihedrals(t.coords_angstrom[::50], quads))
    table = featurize(t.coords_angstrom[::50], top, families=["dihedrals"])  # the sin/cos the pipeline uses
    for f, xyz in enumerate(t.coords_angstrom[::50]):
        ref = calc_dihedrals(xyz[quads[:, 0]], xyz[quads[:, 1]], xyz[quads[:, 2]], xyz[quads[:, 3]])
        np.testing.assert_allclose(ours[f], ref, atol=1e-6)  # radians, as MDAnalysis returns them
        labels = ["-".join(top.names[i] for i in q) for q in quads]
        np.testing.assert_allclose(table.loc[f, [f"dihedral_sin[{lab}]" for lab in labels]], np.sin(ref), atol=1e-6)
        np.testing.assert_allclose(table.loc[f, [f"dihedral_cos[{lab}]" for lab in labels]], np.cos(ref), atol=1e-6)


def test_cytosine_topology_ring_and_groups():
    xyz = demo.equilibrium_geometry()
    top = perceive_topology(demo.SYMBOLS, xyz)
    assert top.rings == [[0, 1, 2, 3, 4, 5]]
    assert len(top.bonds) == 13
    groups = {top.names[a]: top.group_name(a) for _, _, a in top.substituents()}
    assert groups["N8"] == "NH2" and groups["O7"] == "C=O"


def test_rings_of_naphthalene_like_graph_are_two_six_rings():
    bonds = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (4, 6), (6, 7), (7, 8), (8, 9), (9, 5)]
    rings = perceive_rings(10, bonds)
    assert sorted(len(r) for r in rings) == [6, 6]


def test_out_of_plane_sign_follows_ring_normal():
    xyz = demo.equilibrium_geometry()
    n = ring_normal(xyz[:6])
    moved = xyz.copy()
    moved[6] += 0.5 * n  # O7 above the ring on the + side
    assert out_of_plane(moved, range(6), 1, 6) > 15
    moved[6] -= 1.0 * n
    assert out_of_plane(moved, range(6), 1, 6) < -15


def test_featurize_columns_say_what_and_where():
    xyz = demo.equilibrium_geometry()
    top = perceive_topology(demo.SYMBOLS, xyz)
    f = featurize(np.stack([xyz, xyz]), top)
    assert f.shape[0] == 2
    for col in ("bond[C2-O7]", "pucker_Q[ring1]", "pucker_z[C6:ring1]", "oop[N8:ring1]", "angle[N1-C2-N3]"):
        assert col in f.columns
    assert f["bond[C2-O7]"].iloc[0] == pytest.approx(1.216, abs=1e-6)


def test_the_pucker_sign_is_the_side_the_cremer_pople_normal_points_to():
    """The report's sign convention, checked against Cremer & Pople's own construction (JACS 1975, eq. 10-12):
    n = R' x R'' with R' = sum z_j sin(2 pi (j-1)/N), R'' = sum z_j cos(2 pi (j-1)/N) over the ring atoms in order.
    A ring numbered counter-clockwise in the xy plane has its normal along -z: an atom lifted along -z is [+]."""
    flat = ring6(np.zeros(6))
    j = np.arange(6)
    r1 = (np.sin(2 * np.pi * j / 6)[:, None] * (flat - flat.mean(0))).sum(0)
    r2 = (np.cos(2 * np.pi * j / 6)[:, None] * (flat - flat.mean(0))).sum(0)
    normal = np.cross(r1, r2) / np.linalg.norm(np.cross(r1, r2))
    assert normal == pytest.approx([0.0, 0.0, -1.0])
    lifted = flat.copy()
    lifted[2] += 0.3 * normal
    assert cremer_pople(lifted, range(6))["z"][2] > 0.1  # (the mean plane tilts towards it: less than 0.3)
    assert cremer_pople(lifted, [0, 5, 4, 3, 2, 1])["z"][4] < -0.1  # the other direction round the ring: the other side
