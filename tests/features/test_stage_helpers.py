"""Helpers of the feature stage on hand-made inputs: reference XYZ, mean initial geometry, symmetries,
canonical relabelling, merging batch tables; and the resolved events of the formation step."""

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.features.stage import add_symmetries, canonical_coords, mean_initial_geometry, merge_tables, read_reference_xyz
from analysis.formation import resolved_events
from analysis.io.errors import TrajectoryFormatError
from analysis.topology import perceive_topology


def test_read_reference_xyz_takes_the_first_frame_and_names_a_bad_line(tmp_path):
    path = tmp_path / "ref.xyz"
    path.write_text("2\nfirst\nH 0 0 0\nH 0 0 0.74\n2\nsecond\nH 0 0 0\nH 0 0 0.80\n")
    symbols, xyz = read_reference_xyz(path)
    assert symbols == ["H", "H"] and xyz.tolist() == [[0, 0, 0], [0, 0, 0.74]]
    path.write_text("2\nbad\nH 0 0 0\nH 0 zero 0.74\n")
    with pytest.raises(TrajectoryFormatError, match=r"ref\.xyz:4"):
        read_reference_xyz(path)


def test_mean_initial_geometry_averages_rotated_first_frames(small_demo, tmp_path):
    from analysis.ingest import ingest_batch
    from analysis.io.store import Store

    out, truth = small_demo
    ingest_batch(out / "ensemble", tmp_path / "s.npz", tmp_path / "t.csv")
    ok = set(truth.loc[truth.broken == "", "trajectory_id"][:6])
    mean = mean_initial_geometry([tmp_path / "s.npz"], ok)
    with Store(tmp_path / "s.npz") as store:
        first = np.array([store.rows(tid, "coords_angstrom", 0) for tid in store.ids if tid in ok])
    by_hand = demo.align_to(first, first[0]).mean(axis=0)  # an independent Kabsch
    np.testing.assert_allclose(mean - mean.mean(0), by_hand - by_hand.mean(0), atol=1e-9)
    assert mean_initial_geometry([tmp_path / "s.npz"], set()) is None


def _pyrrole():
    mol = demo.MOLECULES["pyrrole"]
    return perceive_topology(list(mol.symbols), mol.xyz), mol.xyz


def test_add_symmetries_finds_the_mirror_of_pyrrole_and_canonical_coords_use_it():
    top, xyz = _pyrrole()
    top = add_symmetries(top, xyz, tolerance=0.05)
    perms = [tuple(p) for p, _ in top.symmetries]
    mirror = (0, 4, 3, 2, 1, 5, 9, 8, 7, 6)  # N1 fixed; C2↔C5, C3↔C4 and their hydrogens
    assert perms[0] == tuple(range(10)) and mirror in perms and len(perms) == 2
    # an event stretching N1–C5 becomes the equivalent N1–C2 stretch (the moving atom gets the lower number)
    event = xyz.copy()
    event[4] += 0.4 * (xyz[4] - xyz[0]) / np.linalg.norm(xyz[4] - xyz[0])
    frames = np.stack([xyz, event])  # two time-resolved frames, then the event
    coords, choice = canonical_coords(np.concatenate([frames, event[None]]), 2, top)
    assert choice.tolist() == [perms.index(mirror)]
    d = lambda g, i, j: np.linalg.norm(g[i] - g[j])  # noqa: E731
    assert d(coords[2], 0, 1) == pytest.approx(d(event, 0, 4)) and d(coords[2], 0, 4) == pytest.approx(d(xyz, 0, 1))
    assert d(coords[1], 0, 1) == pytest.approx(d(event, 0, 4))  # the frames follow their trajectory's last event
    assert add_symmetries(_pyrrole()[0], None, 0.05).symmetries == []  # no reference: nothing to judge on


def test_merge_tables_restores_natural_order_and_skips_empty_batches(tmp_path):
    a, b, empty = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "e.parquet"
    pd.DataFrame({"trajectory_id": ["TRAJ10", "TRAJ2"], "frame": [0, 0]}).to_parquet(a)
    pd.DataFrame({"trajectory_id": ["TRAJ1", "TRAJ2"], "frame": [0, 1]}).to_parquet(b)
    pd.DataFrame({"trajectory_id": pd.Series([], dtype=str), "frame": pd.Series([], dtype=int)}).to_parquet(empty)
    merged = merge_tables([a, empty, b], tmp_path / "out.parquet")
    assert list(zip(merged.trajectory_id, merged.frame)) == [("TRAJ1", 0), ("TRAJ2", 0), ("TRAJ2", 1), ("TRAJ10", 0)]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), merged)
    assert merge_tables([empty], tmp_path / "none.parquet").empty


def test_resolved_events_keep_the_events_order_and_drop_unresolved():
    events = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [5, 9, 2], "time_fs": [2.5, 4.5, 1.0]})
    assignments = pd.DataFrame({"trajectory_id": ["T3", "T1", "T2"], "frame": [2, 5, 9], "channel": ["A2", "A1", "unresolved"]})
    out = resolved_events(events, assignments)
    assert out.trajectory_id.tolist() == ["T1", "T3"] and out.channel.tolist() == ["A1", "A2"]
