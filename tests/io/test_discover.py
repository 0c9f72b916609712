"""Where trajectories are found: folders under input.root, runs kept in subfolders, a root that is one trajectory."""

from pathlib import Path

import pytest

from analysis.io.discover import MAX_DEPTH, discover, trajectory_ids


def _nx(folder: Path) -> Path:
    """A folder Newton-X detection recognises (RESULTS/en.dat + RESULTS/dyn.out) with its usual JOB_AD beside it."""
    (folder / "RESULTS").mkdir(parents=True)
    (folder / "JOB_AD").mkdir()
    for name in ("en.dat", "dyn.out"):
        (folder / "RESULTS" / name).write_text("x\n")
    return folder


def _sharc(folder: Path) -> Path:
    (folder / "QM").mkdir(parents=True)
    for name in ("output.lis", "output.dat", "input"):
        (folder / name).write_text("x\n")
    return folder


def _ids(found):
    return [(f.trajectory_id, f.format) for f in found]


def test_runs_kept_in_subfolders_are_found_under_their_own_names(tmp_path):
    for k in (1, 2, 3):
        _nx(tmp_path / "run1" / f"TRAJ{k}")
    for k in (10, 4):
        _nx(tmp_path / "run2" / "TRAJECTORIES" / f"TRAJ{k}")
    (tmp_path / "notes").mkdir()  # nothing inside: still reported, as unknown
    found = discover(tmp_path)
    assert _ids(found) == [("notes", "unknown")] + [(f"TRAJ{k}", "newtonx") for k in (1, 2, 3, 4, 10)]
    assert found[-1].folder == tmp_path / "run2" / "TRAJECTORIES" / "TRAJ10"
    assert [f.trajectory_id for f in discover(tmp_path, fmt="newtonx")] == ["notes"] + [f"TRAJ{k}" for k in (1, 2, 3, 4, 10)]


def test_runs_whose_trajectories_share_names_get_their_paths_as_ids(tmp_path):
    for run in ("run1", "run2"):
        for k in (1, 2):
            _sharc(tmp_path / run / f"TRAJ_{k:05d}")
    found = discover(tmp_path)
    assert [f.trajectory_id for f in found] == ["run1_TRAJ_00001", "run1_TRAJ_00002", "run2_TRAJ_00001", "run2_TRAJ_00002"]
    assert len({f.folder for f in found}) == 4 and {f.format for f in found} == {"sharc"}
    # the same with an explicit nested pattern
    assert [f.trajectory_id for f in discover(tmp_path, "run*/TRAJ*")] == [f.trajectory_id for f in found]
    assert trajectory_ids(tmp_path, [tmp_path / "a" / "T1", tmp_path / "b" / "T2"]) == ["T1", "T2"]


def test_search_stops_at_max_depth(tmp_path):
    _nx(tmp_path / "a" / "b" / "c" / "TRAJ1")  # one level deeper than MAX_DEPTH
    assert MAX_DEPTH == 3 and _ids(discover(tmp_path)) == [("a", "unknown")]
    _nx(tmp_path / "a" / "b" / "TRAJ2")
    assert _ids(discover(tmp_path)) == [("TRAJ2", "newtonx")]


@pytest.mark.parametrize("make, fmt", [(_nx, "newtonx"), (_sharc, "sharc")])
def test_a_root_that_is_one_trajectory_is_an_ensemble_of_one(tmp_path, make, fmt):
    folder = make(tmp_path / "TRAJ7")
    assert _ids(discover(folder)) == [("TRAJ7", fmt)]
    assert _ids(discover(folder, fmt=fmt)) == [("TRAJ7", fmt)]
    assert discover(folder)[0].folder == folder


def test_a_stray_xyz_file_does_not_make_the_ensemble_root_a_trajectory(tmp_path):
    (tmp_path / "T1").mkdir()
    (tmp_path / "T1" / "run.xyz").write_text("1\nf0\nH 0 0 0\n")
    (tmp_path / "initial.xyz").write_text("1\nf0\nH 0 0 0\n")
    assert _ids(discover(tmp_path)) == [("T1", "xyz")]


def test_a_crashed_trajectory_stays_one_unknown_folder(tmp_path):
    """A Newton-X run that died before RESULTS was written: its JOB_AD holds an *.xyz input, which is not a trajectory."""
    _nx(tmp_path / "TRAJ1")
    crashed = tmp_path / "TRAJ2"
    (crashed / "JOB_AD").mkdir(parents=True)
    (crashed / "JOB_AD" / "geom.xyz").write_text("1\nf0\nH 0 0 0\n")
    (crashed / "control.dyn").write_text("&input\n")
    assert _ids(discover(tmp_path)) == [("TRAJ1", "newtonx"), ("TRAJ2", "unknown")]
