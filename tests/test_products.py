"""Products: each trajectory's bonding at its end against the Franck–Condon geometry.

Known answers: planted trajectories of a cyclopropane-like C3 ring whose C1-C2 or (symmetry-equivalent) C2-C3
bond breaks, one whose bond only vibrates across the cutoff, and one that keeps its bonds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.io.store import write_store
from analysis.io.trajectory import Trajectory
from analysis.products import FC_BONDING, canonical_changes, channel_products, product_shares, product_words, trajectory_products
from analysis.topology import Topology

RING = np.array([[0.0, 0.875, 0.0], [-0.758, -0.4375, 0.0], [0.758, -0.4375, 0.0]])  # C-C 1.515 A
ROTATE = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]  # the ring's threefold rotation (and identity)
TOPO = Topology(symbols=["C", "C", "C"], names=["C1", "C2", "C3"], bonds=[(0, 1), (1, 2), (0, 2)], rings=[[0, 1, 2]],
                reference_angstrom=RING.tolist(), symmetries=[[p, False] for p in ROTATE])


def _stretched(a: int, b: int, length: float) -> np.ndarray:
    """The ring with atom ``b`` swung in the ring plane about the third atom (its bond to it kept at 1.515 Å) until
    the a-b distance is ``length`` (Å): only the a-b bond changes."""
    xyz = RING.copy()
    pivot = ({0, 1, 2} - {a, b}).pop()
    arm = xyz[a] - xyz[pivot]
    angle = 2 * np.arcsin(length / 2 / np.linalg.norm(arm))
    side = np.sign(np.cross(arm, xyz[b] - xyz[pivot])[2])
    c, s = np.cos(side * angle), np.sin(side * angle)
    xyz[b] = xyz[pivot] + [c * arm[0] - s * arm[1], s * arm[0] + c * arm[1], 0.0]
    return xyz


def _trajectory(tid: str, frames: np.ndarray, symbols=("C", "C", "C"), dt_fs: float = 0.5) -> Trajectory:
    n = len(frames)
    return Trajectory(trajectory_id=tid, source_path=f"/data/{tid}", format="xyz", symbols=list(symbols),
                      masses_amu=np.full(len(symbols), 12.0), time_fs=np.arange(n) * dt_fs, coords_angstrom=frames,
                      active_state=np.ones(n, dtype=int), energies_ev=np.zeros((n, 1)), total_energy_ev=np.zeros(n),
                      state_labels=["S0"], flags=[])


def test_wilson_interval_known_values():
    """Wilson (1927) score interval, z = 1.96: 2 of 4 is 15.0-85.0 %; 0 of 10 is 0-27.8 %; 50 of 100 is 40.4-59.6 %;
    2 of 3 is 20.8-93.9 % (worked by hand from the closed form: centre (p + z²/2n)/(1 + z²/n), half-width
    z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n); 0 of n has upper bound z²/(n + z²))."""
    from analysis.products import wilson_interval

    lo, hi = wilson_interval([2, 0, 50, 2], [4, 10, 100, 3])
    np.testing.assert_allclose(lo, [15.00, 0.0, 40.38, 20.77], atol=0.01)
    np.testing.assert_allclose(hi, [85.00, 27.75, 59.62, 93.85], atol=0.01)


def test_formation_time_is_the_last_crossing_to_the_product_side():
    from analysis.products import formation_time_fs

    t = np.arange(0, 60.5, 0.5)  # fs
    d = np.full((len(t), 1), 1.5)
    d[(t >= 10) & (t < 20)] = 2.5   # breaks, re-forms at 20 fs ...
    d[t >= 30] = 2.5                # ... and breaks for good at 30 fs
    assert formation_time_fs(d, t, np.array([1.8]), np.array([True]), window_fs=4.0) == 30.0
    # a 1 fs excursion back inside the cutoff, shorter than half the 4 fs window, does not reset it
    d[(t >= 40) & (t < 41)] = 1.5
    assert formation_time_fs(d, t, np.array([1.8]), np.array([True]), window_fs=4.0) == 30.0
    # a pair that forms (H2, 0.74 A within a 1.21 A cutoff) together with one that breaks: the later of the two
    both = np.column_stack([np.where(t >= 30, 2.5, 1.1), np.where(t >= 35, 0.74, 2.0)])
    assert formation_time_fs(both, t, np.array([1.44, 1.21]), np.array([True, False]), window_fs=4.0) == 35.0
    assert np.isnan(formation_time_fs(np.full((len(t), 1), 1.5), t, np.array([1.8]), np.array([True])))


def test_product_words_and_symmetry_equivalent_openings():
    assert product_words([(0, 1)], [], TOPO) == "C1-C2 broken (ring opening)"
    assert product_words([], [], TOPO) == FC_BONDING
    chain = Topology(symbols=["O", "H", "N"], names=["O1", "H2", "N3"], bonds=[(0, 1)], rings=[])
    assert product_words([(0, 1)], [(1, 2)], chain) == "O1-H2 broken; H2-N3 formed"
    # butene's TRAJ_00002 (sharc/butene_sharc2.1) ends so: H6 and H9 leave C1 and C3 and fly off as H2
    butane = Topology(symbols=["C", "C", "C", "H", "H"], names=["C1", "C2", "C3", "H6", "H9"],
                      bonds=[(0, 1), (1, 2), (0, 3), (2, 4)], rings=[])
    assert product_words([(0, 3), (2, 4)], [(3, 4)], butane) == (
        "C1-H6 broken; C3-H9 broken; H6-H9 formed (H2 elimination); fragments C3 + H2")
    # a molecule that comes apart names its pieces; a ring that opens stays one piece
    ch3i = Topology(symbols=["C", "I", "H", "H", "H"], names=["C1", "I2", "H3", "H4", "H5"],
                    bonds=[(0, 1), (0, 2), (0, 3), (0, 4)], rings=[])
    assert product_words([(0, 1)], [], ch3i) == "C1-I2 broken; fragments CH3 + I"
    assert "fragments" not in product_words([(0, 1)], [], TOPO)
    # C2-C3 and C1-C3 are C1-C2 turned by the ring's rotation: one product
    assert canonical_changes([(1, 2)], [], TOPO) == canonical_changes([(0, 2)], [], TOPO) == (((0, 1),), (), ())


def test_trajectory_products_from_the_last_frames(tmp_path, monkeypatch):
    """Four planted trajectories of 101 frames (0.5 fs): C1-C2 breaks (2.4 A, past the 1.82 A C-C cutoff) for the
    last 30 fs; C2-C3 breaks the same way; C1-C2 vibrates 1.3-2.1 A over the last 20 fs (mean 1.7 A, within the
    cutoff); the ring stays closed. Only C1-C2 broke: the second is the same product by symmetry."""
    n = 101
    closed = np.repeat(RING[None], n, axis=0)
    opened = closed.copy()
    opened[-60:] = _stretched(0, 1, 2.4)
    opened_23 = closed.copy()
    opened_23[-60:] = _stretched(1, 2, 2.4)
    vibrating = closed.copy()
    vibrating[-41:] = [_stretched(0, 1, 1.7 + 0.4 * np.sin(k)) for k in np.linspace(0, 8 * np.pi, 41)]
    store = tmp_path / "batch.npz"
    write_store([_trajectory("T1", opened), _trajectory("T2", opened_23), _trajectory("T3", vibrating),
                 _trajectory("T4", closed)], store)
    products = trajectory_products([store], {"T1": n, "T2": n, "T3": n, "T4": n}, TOPO, truncated=["T2"])
    got = dict(zip(products["trajectory_id"], products["product"]))
    assert got == {"T1": "C1-C2 broken (ring opening)", "T2": "C1-C2 broken (ring opening)", "T3": FC_BONDING, "T4": FC_BONDING}
    assert products.set_index("trajectory_id")["truncated"].to_dict() == {"T1": False, "T2": True, "T3": False, "T4": False}
    assert (products["end_time_fs"] == 50.0).all()
    # T1 and T2 open at frame 41 (20.5 fs): the running median dates the step exactly; no time where nothing changed
    assert products["formed_at_fs"].tolist()[:2] == [20.5, 20.5] and products["formed_at_fs"][2:].isna().all()
    import analysis.products

    monkeypatch.setattr(analysis.products, "CHUNK", 3)  # judged three at a time: the same
    assert trajectory_products([store], {"T1": n, "T2": n, "T3": n, "T4": n}, TOPO, truncated=["T2"]).equals(products)
    # analysed only up to frame 40 (QC truncation): T1 ends closed
    early = trajectory_products([store], {"T1": 40}, TOPO)
    assert early["product"].tolist() == [FC_BONDING] and early["end_time_fs"].tolist() == [19.5]

    shares = product_shares(products).round(2)
    assert shares.fillna(-1).to_dict("records") == [
        {"product": "C1-C2 broken (ring opening)", "trajectories": 2, "percent": 50.0, "percent_lo": 15.0, "percent_hi": 85.0,
         "truncated": 1, "formed_at_fs_median": 20.5},
        {"product": FC_BONDING, "trajectories": 2, "percent": 50.0, "percent_lo": 15.0, "percent_hi": 85.0, "truncated": 0,
         "formed_at_fs_median": -1}]
    with_states = products.assign(final_label=["S0", "S1", "S0", "S0"])
    assert product_shares(with_states)["final states"].tolist() == ["S0 1, S1 1", "S0 2"]
    assignments = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3", "T4"], "channel": ["A1B1", "A1B1", "A2B1", "A2B1"]})
    assert channel_products(assignments, products) == {"A1B1": "C1-C2 broken (ring opening) 2", "A2B1": f"{FC_BONDING} 2"}


def _cis_2_butene() -> tuple[list[str], np.ndarray]:
    """cis-2-butene (C1 C2 C3 C4, H5-H7 on C1, H8 on C2, H9 on C3, H10-H12 on C4): C2=C3 1.34 A along x, the
    methyls on the same side (+y), 120° at the sp2 carbons."""
    c2, c3 = np.array([-0.67, 0.0, 0.0]), np.array([0.67, 0.0, 0.0])
    c1, c4 = c2 + 1.50 * np.array([-0.5, 0.866, 0]), c3 + 1.50 * np.array([0.5, 0.866, 0])
    h8, h9 = c2 + 1.09 * np.array([-0.5, -0.866, 0]), c3 + 1.09 * np.array([0.5, -0.866, 0])

    def methyl(c, sign):
        dirs = np.array([[sign * -0.3, 0.95, 0.0], [sign * 0.6, 0.3, 0.75], [sign * 0.6, 0.3, -0.75]])
        return c + 1.09 * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)

    xyz = np.vstack([c1, c2, c3, c4, methyl(c1, -1), h8, h9, methyl(c4, 1)])
    return ["C"] * 4 + ["H"] * 8, xyz


def test_only_double_bonds_with_a_side_on_each_end_can_isomerize():
    from analysis.products import isomerizable_torsions
    from analysis.topology import perceive_topology

    symbols, xyz = _cis_2_butene()
    butene = perceive_topology(symbols, xyz)
    assert isomerizable_torsions(butene) == [(0, 1, 2, 3)]  # C1-C2=C3-C4; not the C1-C2 single bond
    from analysis.report.molecule import molecule_lines

    assert "Double bonds followed for cis/trans isomerization (by the two named substituents): C2=C3 (C1, C4)." in molecule_lines(butene)
    ethylene = perceive_topology(["C", "C", "H", "H", "H", "H"],
                                 np.array([[-0.67, 0, 0], [0.67, 0, 0], [-1.2, 0.93, 0], [-1.2, -0.93, 0], [1.2, 0.93, 0], [1.2, -0.93, 0]]))
    assert isomerizable_torsions(ethylene) == []  # a CH2 end has no cis and trans


def test_a_planted_cis_trans_isomerization_is_a_product(tmp_path):
    """Three planted cis-2-butene trajectories of 121 frames (0.5 fs): the C3 end turns by 180° about C2=C3 at
    30 fs (trans: C2=C3 cis→trans (C1, C4), formed at 30 fs); it turns only 90° (twisted: undecided, FC bonding);
    nothing moves."""
    from analysis.topology import perceive_topology

    symbols, xyz = _cis_2_butene()
    topo = perceive_topology(symbols, xyz)
    end = [2, 3, 8, 9, 10, 11]  # C3, C4, H9, H10-H12 (C3 on the axis)

    def turned(angle_deg):
        a = np.radians(angle_deg)
        rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        out = xyz.copy()
        out[end] = xyz[end] @ rot.T
        return out

    n = 121
    still = np.repeat(xyz[None], n, axis=0)
    trans, twisted = still.copy(), still.copy()
    trans[60:], twisted[60:] = turned(180.0), turned(90.0)
    store = tmp_path / "b.npz"
    write_store([_trajectory("T1", trans, symbols), _trajectory("T2", twisted, symbols), _trajectory("T3", still, symbols)], store)
    products = trajectory_products([store], {"T1": n, "T2": n, "T3": n}, topo).set_index("trajectory_id")
    assert products["product"].to_dict() == {"T1": "C2=C3 cis→trans (C1, C4)", "T2": FC_BONDING, "T3": FC_BONDING}
    assert products.loc["T1", "isomerized"] == "C2=C3" and products.loc["T1", "formed_at_fs"] == 30.0
