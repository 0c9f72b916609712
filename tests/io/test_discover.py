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


def test_an_ensemble_of_loose_xyz_files_is_one_trajectory_per_file(tmp_path):
    """root/traj_1.xyz, traj_2.xyz.gz, traj_10.xyz (+ traj_2.csv) and a 'plots' folder: three trajectories named by
    their stems in natural order, each read with its own CSV; the manifest lists each file as stored."""
    import gzip

    import numpy as np

    from analysis.ingest import read_one
    from analysis.io.discover import manifest

    def frames(n, z0):
        return "".join(f"2\ntime={0.5 * k:.1f} state={2 if k < 3 else 1}\nH 0 0 {z0}\nH 0 0 {z0 + 0.74 + 0.01 * k}\n"
                       for k in range(n))

    (tmp_path / "plots").mkdir()
    (tmp_path / "traj_1.xyz").write_text(frames(5, 0.0))
    (tmp_path / "traj_2.xyz.gz").write_bytes(gzip.compress(frames(4, 1.0).encode()))
    (tmp_path / "traj_2.csv").write_text("time_fs,active_state\n0,3\n1,3\n2,2\n3,1\n")
    (tmp_path / "traj_10.xyz").write_text(frames(6, 2.0))
    found = discover(tmp_path)
    assert _ids(found) == [("traj_1", "xyz"), ("traj_2", "xyz"), ("traj_10", "xyz")]
    assert _ids(discover(tmp_path, pattern="traj_1*")) == [("traj_1", "xyz"), ("traj_10", "xyz")]
    table = manifest(found, content_hash=True)
    assert table.loc[table.trajectory_id == "traj_2", "file"].tolist() == ["traj_2.xyz.gz", "traj_2.csv"]
    assert table["sha"].str.len().eq(32).all()
    one, two = read_one(found[0]), read_one(found[1])
    assert one.coords_angstrom.shape == (5, 2, 3) and list(one.active_state) == [2, 2, 2, 1, 1]
    np.testing.assert_allclose(one.time_fs, [0.0, 0.5, 1.0, 1.5, 2.0])
    assert list(two.active_state) == [3, 3, 2, 1] and list(two.time_fs) == [0, 1, 2, 3]  # the CSV wins
    assert two.coords_angstrom[0, 0, 2] == 1.0


def test_a_root_that_is_one_xyz_file_is_an_ensemble_of_one(tmp_path):
    """input.root may name one multi-frame XYZ file (as MD17-style snippets come): one trajectory, id its stem,
    read with its CSV; a root that is neither a folder nor an XYZ file is refused, naming what was expected."""
    from analysis.ingest import read_one
    from analysis.io.discover import manifest

    path = tmp_path / "run_7.xyz"
    path.write_text("".join(f"2\ntime={0.5 * k:.1f} state={2 if k < 2 else 1}\nH 0 0 0\nH 0 0 {0.74 + 0.01 * k}\n" for k in range(4)))
    (tmp_path / "run_7.csv").write_text("time_fs,active_state\n0,2\n1,2\n2,2\n3,1\n")
    found = discover(path)
    assert _ids(found) == [("run_7", "xyz")]
    assert manifest(found)["file"].tolist() == ["run_7.xyz", "run_7.csv"]
    assert list(read_one(found[0]).active_state) == [2, 2, 2, 1]
    (tmp_path / "notes.txt").write_text("x\n")
    with pytest.raises(FileNotFoundError, match="neither a directory nor a multi-frame .xyz file"):
        discover(tmp_path / "notes.txt")


def test_trajectory_folders_win_over_loose_xyz_files_beside_them(tmp_path):
    _nx(tmp_path / "TRAJ1")
    (tmp_path / "notes.xyz").write_text("1\nx\nH 0 0 0\n")
    assert _ids(discover(tmp_path)) == [("TRAJ1", "newtonx")]
