import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.io.newtonx import read_newtonx
from analysis.units import HARTREE_TO_EV


def test_channel_counts_are_exact_shares():
    counts = demo.channel_counts(200, [c.share for c in demo.CHANNELS])
    assert counts.sum() == 200
    np.testing.assert_array_equal(counts, [50, 40, 30, 30, 30, 20])


def test_equilibrium_geometry_matches_literature_bonds():
    from analysis.features.geometry import distances

    xyz = demo.equilibrium_geometry()
    d = distances(xyz, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (1, 6), (3, 7)])
    np.testing.assert_allclose(d, [1.417, 1.370, 1.311, 1.435, 1.356, 1.355, 1.216, 1.362], atol=0.003)
    assert np.abs(xyz[:, 2]).max() < 1e-12  # planar


def test_energies_depend_on_geometry_only():
    xyz = demo.equilibrium_geometry()
    pes = demo.DemoPES(xyz)
    geoms = xyz[None] + np.random.default_rng(0).normal(0, 0.05, size=(5, 13, 3))
    e1 = pes.energies_ev(geoms)
    e2 = demo.DemoPES(xyz.copy()).energies_ev(geoms[::-1])[::-1]
    np.testing.assert_allclose(e1, e2)


def test_gap_closes_along_every_channel():
    xyz = demo.equilibrium_geometry()
    pes = demo.DemoPES(xyz)
    for k, channel in enumerate(demo.CHANNELS):
        path = xyz[None] + demo.channel_displacement(xyz, channel, np.linspace(0, 1, 11))
        gap = np.diff(pes.energies_ev(path)[:, :2], axis=1)[:, 0]
        assert gap[0] > 4.0, channel.name
        assert gap[-1] < 0.1, channel.name
        assert np.all(np.diff(gap) < 0), channel.name


def test_demo_trajectories_follow_truth(small_demo):
    out, truth = small_demo
    assert len(truth) == 24 and set(truth["channel"]) <= {c.name for c in demo.CHANNELS}
    assert (truth["broken"] != "").sum() == 2
    gaps = []
    for row in truth[truth["broken"] == ""].head(6).itertuples():
        t = read_newtonx(out / "ensemble" / row.trajectory_id)
        hops = t.hops
        assert list(zip(hops.from_state, hops.to_state)) == [(2, 1)]
        assert hops.time_fs.iloc[0] == pytest.approx(row.hop_time_fs)
        gap_fc = t.energies_ev[0, 1] - t.energies_ev[0, 0]
        gap_at_hop = t.energies_ev[hops.frame.iloc[0], 1] - t.energies_ev[hops.frame.iloc[0], 0]
        # By construction the planted deformation is complete at the hop (progress 1 ± 2 %), so the S1–S0 gap
        # has closed to a small fraction of its Franck–Condon value; thermal motion (0.05 Å RMS) keeps it
        # from closing exactly (≤ 0.82 eV over 120 trajectories of seed 7). Margins, not last bits.
        assert gap_fc > 3.5
        assert gap_at_hop < 0.25 * gap_fc
        gaps.append(gap_at_hop)
        assert np.ptp(t.total_energy_ev) < 0.005  # noise sd 1e-5 Eh = 2.7e-4 eV; 401 frames span ~6 sd
        assert np.abs(t.coords_angstrom[0] - demo.equilibrium_geometry()).max() < 0.3
    assert np.median(gaps) < 0.6


def test_normal_modes_do_not_depend_on_the_blas_kernel():
    """Eigenvector signs are fixed (largest component positive), so the demo is the same on every CPU."""
    _, modes = demo.normal_modes(demo.equilibrium_geometry(), demo.SYMBOLS)
    flat = modes.reshape(len(modes), -1)
    assert (flat[np.arange(len(flat)), np.abs(flat).argmax(axis=1)] > 0).all()


def test_demo_is_reproducible_from_seed(tmp_path):
    a = demo.generate_demo(tmp_path / "a", n_trajectories=4, seed=3, t_max_fs=60.0, broken_fraction=0)
    b = demo.generate_demo(tmp_path / "b", n_trajectories=4, seed=3, t_max_fs=60.0, broken_fraction=0)
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "a/ensemble/TRAJ2/RESULTS/dyn.out").read_bytes() == (tmp_path / "b/ensemble/TRAJ2/RESULTS/dyn.out").read_bytes()


def test_dyn_out_layout_matches_real_newtonx_block():
    """Block headers and column widths as in ../shared/FORMATS.md."""
    import re
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        demo.generate_demo(tmp, n_trajectories=1, seed=1, t_max_fs=60.0, broken_fraction=0)
        text = (Path(tmp) / "ensemble/TRAJ1/RESULTS/dyn.out").read_text()
        en = (Path(tmp) / "ensemble/TRAJ1/RESULTS/en.dat").read_text().splitlines()
    assert re.search(r"^STEP\s+1\s+Molecular dynamics on state\s+2\s+TIME =\s+0\.50 fs$", text, re.M)
    assert "  Initial geometry: \n N     7.0" in text
    assert re.search(r"^ C     6\.0 {2,}-?\d+\.\d{8} {2,}-?\d+\.\d{8} {2,}-?\d+\.\d{8}   12\.00000000$", text, re.M)
    assert len(en[0].split()) == 1 + 3 + 2
    assert float(en[0].split()[1]) * HARTREE_TO_EV < -10000  # absolute hartree energies


def _bond(xyz, i, j):
    return float(np.linalg.norm(xyz[i] - xyz[j]))


def _angle(xyz, i, j, k):
    u, v = xyz[i] - xyz[j], xyz[k] - xyz[j]
    return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))


def test_pyrrole_and_butadiene_have_their_literature_structures():
    pyr = demo.pyrrole_geometry()
    bonds = [_bond(pyr, *b) for b in ((0, 1), (1, 2), (2, 3), (3, 4), (4, 0))]
    np.testing.assert_allclose(bonds, [1.370, 1.382, 1.417, 1.382, 1.370], atol=0.002)  # the last one closes the ring
    assert _angle(pyr, 0, 1, 2) == pytest.approx(107.7, abs=0.05) and _angle(pyr, 4, 0, 1) == pytest.approx(109.8, abs=0.05)
    assert _bond(pyr, 0, 5) == pytest.approx(1.00) and np.abs(pyr[:, 2]).max() < 1e-12  # planar
    but = demo.butadiene_geometry()
    assert [round(_bond(but, *b), 3) for b in ((0, 1), (1, 2), (2, 3))] == [1.338, 1.454, 1.338]
    assert _angle(but, 0, 1, 2) == pytest.approx(123.6, abs=1e-6)
    assert _bond(but, 0, 3) > 3.5  # s-trans: the ends far apart
    for mol in (demo.MOLECULES["pyrrole"], demo.MOLECULES["butadiene"]):
        assert len(mol.symbols) == len(mol.xyz) and np.allclose(mol.xyz.mean(0), 0)


def test_spring_hessian_of_a_planar_molecule_has_four_zero_modes_and_is_symmetric():
    for mol in demo.MOLECULES.values():
        hess = demo.spring_hessian(mol.xyz, mol.symbols)
        assert np.allclose(hess, hess.T)
        w = np.linalg.eigvalsh(hess)
        # 3 translations + the in-plane rotation; the out-of-plane stiffness (a graph Laplacian on z) also holds
        # the two rotations about in-plane axes, which tilt z linearly across the molecule
        assert (np.abs(w) < 1e-8 * w.max()).sum() == 4 and w.min() > -1e-8 * w.max()
        shift = np.tile([0.3, -0.2, 0.1], len(mol.symbols))
        assert np.allclose(hess @ shift, 0)  # a rigid translation costs nothing


def test_align_to_undoes_a_rotation_and_a_translation():
    ref = demo.equilibrium_geometry()
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))  # a proper rotation
    moved = np.stack([ref @ q.T + [1.0, -2.0, 0.5], ref])
    np.testing.assert_allclose(demo.align_to(moved, ref), np.stack([ref, ref]), atol=1e-10)


def test_thermal_motion_has_the_requested_rms_and_stays_in_the_vibrations():
    mol = demo.MOLECULES["pyrrole"]
    omega, modes = demo.normal_modes(mol.xyz, mol.symbols)
    t = np.arange(0.0, 200.0, 0.5)
    motion = demo.thermal_motion(np.random.default_rng(1), omega, modes, t, thermal_rms=0.07)
    assert motion.shape == (len(t), len(mol.symbols), 3)
    assert np.sqrt((motion**2).sum(axis=2).mean()) == pytest.approx(0.07)
    masses = np.array([demo.MASSES_AMU[s] for s in mol.symbols])
    assert np.abs((masses[None, :, None] * motion).sum(axis=1)).max() < 1e-10  # centre of mass never moves


def test_channel_vectors_move_the_planted_atoms():
    vectors = demo.channel_vectors(demo.equilibrium_geometry())
    assert vectors.shape == (len(demo.CHANNELS), len(demo.SYMBOLS), 3)
    for channel, v in zip(demo.CHANNELS, vectors):
        moved = set(np.flatnonzero(np.linalg.norm(v, axis=1) > 1e-9))
        planted = {a for op in channel.displacement for a in op[1]}
        assert planted == moved, channel.name


@pytest.mark.parametrize("lower", [0, 1, None])
def test_cascade_trajectory_hops_in_order_and_ends_where_planted(lower):
    xyz = demo.equilibrium_geometry()
    omega, modes = demo.normal_modes(xyz, demo.SYMBOLS)
    pes = demo.DemoPES(xyz, demo.SYMBOLS, channels=demo.LOWER_CHANNELS, upper_channels=demo.UPPER_CHANNELS)
    time_fs = np.arange(0.0, 300.0, 0.5)
    coords, energies, active, t21, t10 = demo.simulate_cascade_trajectory(np.random.default_rng(5), xyz, omega, modes, pes, 1, lower,
                                                                          time_fs)
    assert coords.shape == (len(time_fs), len(demo.SYMBOLS), 3) and energies.shape == (len(time_fs), 3)
    assert active[0] == 3 and (active[time_fs >= t21][:1] == 2).all() and 10.0 <= t21 <= 100.0
    if lower is None:
        assert t10 is None and active[-1] == 2  # trapped in S1, as many real trajectories
    else:
        assert t21 + 25.0 <= t10 and (active[time_fs >= t10] == 1).all() and (active[time_fs < t10] >= 2).all()
        planted = [a for op in demo.LOWER_CHANNELS[lower].displacement for a in op[1]]
        moved = np.linalg.norm(coords[time_fs == t10][0] - xyz, axis=1)
        assert moved[planted].min() > 0.25  # the lower channel's atoms are displaced at its hop
    mol = demo.MOLECULES["cytosine"]
    assert isinstance(mol, demo.Molecule) and mol.plane == tuple(demo.RING)
