"""The file-level parsers inside the readers, on small hand-written files (every value known)."""

import numpy as np
import pytest

from analysis.io.errors import TrajectoryFormatError
from analysis.io.nexmd import read_columns, read_coords_xyz
from analysis.io.pyrai2md import read_energies, read_md_xyz
from analysis.io.sharc import read_input
from analysis.io.xyz import check_xyz_layout


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sharc_input_keys_with_comments_and_a_bad_value(tmp_path):
    path = _write(tmp_path, "input", "printlevel 2\n# a comment\nnstates 3 0 2   # singlets, -, triplets\nezero -94.5\nstepsize 0.5\n")
    assert read_input(path) == {"nstates": [3, 0, 2], "ezero_hartree": -94.5, "stepsize_fs": 0.5}
    path = _write(tmp_path, "input", "nstates 3\nstepsize half\n")
    with pytest.raises(TrajectoryFormatError, match=r"input:2: expected 'stepsize <number\(s\)>'"):
        read_input(path)


def test_pyrai2md_energies_with_header_and_the_md_xyz_comments(tmp_path):
    path = _write(tmp_path, "m.md.energies", "time Epot Ekin Etot Epot1,2...\n20.67 -1.0 0.1 -0.9 -1.2 -1.0\n\n41.34 -1.1 0.2 -0.9 -1.3 -1.1\n")
    np.testing.assert_array_equal(read_energies(path), [[20.67, -1.0, 0.1, -0.9, -1.2, -1.0], [41.34, -1.1, 0.2, -0.9, -1.3, -1.1]])
    assert read_energies(_write(tmp_path, "e.sh.energies", "\n"), allow_empty=True).shape == (0, 5)
    with pytest.raises(TrajectoryFormatError, match=r"x\.md\.energies:2: expected at least 5 columns"):
        read_energies(_write(tmp_path, "x.md.energies", "time Epot\n1.0 2.0 3.0\n"))
    xyz = _write(tmp_path, "m.md.xyz", "1\nm coord 1 state 2\nH 0 0 0\n1\nm coord 2 state 2 to 1 CI\nH 0 0 0.1\n")
    got = read_md_xyz(xyz)
    assert got["step"].tolist() == [1, 2] and got["state"].tolist() == [2, 2] and got["hop_to"].tolist() == [0, 1]
    np.testing.assert_array_equal(got["coords_angstrom"][:, 0, 2], [0.0, 0.1])
    bad = _write(tmp_path, "b.md.xyz", "1\nm coord 1 state 2\nH 0 0 0\n1\nm step two\nH 0 0 0\n")
    with pytest.raises(TrajectoryFormatError, match=r"b\.md\.xyz:5: expected a comment"):
        read_md_xyz(bad)


def test_nexmd_columns_and_coords(tmp_path):
    path = _write(tmp_path, "pes.out", "# time E1 E2\n0.0 -1.0 2.0\n\n0.5 -1.1 2.1\n")
    table, lines = read_columns(path, min_fields=3)
    np.testing.assert_array_equal(table, [[0.0, -1.0, 2.0], [0.5, -1.1, 2.1]])
    assert lines.tolist() == [2, 4]
    with pytest.raises(TrajectoryFormatError, match=r"pes\.out:2: expected at least 4 columns \(found 3\)"):
        read_columns(path, min_fields=4)
    with pytest.raises(TrajectoryFormatError, match=r"t\.out:3: expected a finite time"):
        read_columns(_write(tmp_path, "t.out", "0.0 1\n0.5 1\nnan 1\n"), min_fields=2)
    coords = _write(tmp_path, "coords.xyz", "1\nFINAL HEAT OF FORMATION = -849.5 time = 0.0\nC 1 2 3\n"
                                            "1\nFINAL HEAT OF FORMATION = -849.4 time = 0.1\nC 1 2 3.5\n1\nFINAL")
    got = read_coords_xyz(coords)
    assert got["symbols"] == ["C"] and got["time_fs"].tolist() == [0.0, 0.1] and got["truncated"]
    np.testing.assert_array_equal(got["coords_angstrom"][:, 0], [[1, 2, 3], [1, 2, 3.5]])


def test_check_xyz_layout_counts_frames_and_names_the_bad_line(tmp_path):
    good = _write(tmp_path, "a.xyz", "2\nframe 0\nH 0 0 0 1.0\nH 0 0 1 1.0\n2\nframe 1\nH 0 0 0 1.0\nH 0 0 1 1.0\n")  # an extra column (ext. XYZ)
    assert check_xyz_layout(good) == 2
    bad = _write(tmp_path, "b.xyz", "2\nframe 0\nH 0 0 0\nH 0 0\n")
    with pytest.raises(TrajectoryFormatError, match=r"b\.xyz:4"):
        check_xyz_layout(bad)
    partial = _write(tmp_path, "c.xyz", "1\nf\nH 0 0 0\n1\nf\n")  # the layout check allows no partial frame
    with pytest.raises(TrajectoryFormatError, match=r"c\.xyz"):
        check_xyz_layout(partial)


def test_a_last_line_cut_mid_write_is_dropped_and_a_cut_end_is_told_from_lost_rows():
    from analysis.io.text import line_offsets, without_cut_last_line
    from analysis.io.trajectory import cut_at_the_end

    raw = b"0.0 1.0 2.0\n0.5 1.1 2.1\n1.0 1.2\n"
    starts, ends = line_offsets(raw)
    assert list(without_cut_last_line(raw, starts, ends, np.arange(3), 3)) == [0, 1]
    assert list(without_cut_last_line(raw, starts, ends, np.arange(2), 3)) == [0, 1]  # complete: kept
    common = np.array([1, 2, 3])
    assert cut_at_the_end(common, np.array([1, 2, 3, 4, 5]), np.array([1, 2, 3]))
    assert not cut_at_the_end(common, np.array([1, 2, 3, 4]), np.array([0, 1, 2, 3]))  # a row lost before the end
    assert not cut_at_the_end(np.array([], dtype=int), np.array([1]))


@pytest.mark.parametrize("program", ["newtonx", "pyrai2md", "nexmd"])
def test_a_run_stopped_mid_write_keeps_its_complete_frames_and_is_flagged_truncated(tmp_path, program):
    # a job out of wall time leaves its last line half written: the whole trajectory was excluded as unreadable
    # (en.dat, md.energies, pes.out), or, when one file ended a step later, flagged as losing frames (excluded by QC)
    import shutil

    from analysis.io.discover import READERS
    from tests.conftest import shared

    source, name = {"newtonx": (shared("newtonx", "pyrazine_nx2.6", "TRAJ1"), "RESULTS/en.dat"),
                    "pyrai2md": (shared("pyrai2md", "ch2nh2", "traj1"), "mai.md.energies"),
                    "nexmd": (shared("nexmd", "benzene", "reference_output"), "pes.out")}[program]
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    text = (folder / name).read_text().rstrip("\n").splitlines()
    (folder / name).write_text("\n".join(text[:-1] + [" ".join(text[-1].split()[:2])]) + "\n")  # the last row cut short
    full, cut = READERS[program](source), READERS[program](folder)
    assert "truncated" in cut.flags and not [f for f in cut.flags if "missing" in f or "not_in_all" in f or "mismatch" in f]
    assert cut.n_frames == full.n_frames - 1
    np.testing.assert_array_equal(cut.time_fs, full.time_fs[:-1])
    np.testing.assert_allclose(cut.energies_ev, full.energies_ev[:-1])
