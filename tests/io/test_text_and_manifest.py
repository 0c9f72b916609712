"""Direct tests of the text primitives, trajectory helpers and manifests (known answers, written by hand)."""

import numpy as np
import pandas as pd
import pytest

from analysis.io.digest import manifest_digest
from analysis.io.discover import discover, found_from_manifest, manifest, read_manifest, write_manifest
from analysis.io.paths import natural_key, natural_rank
from analysis.io.errors import TrajectoryFormatError
from analysis.io.text import (blank_lines, byte_at, format_xyz, head_is, integer_column, join_ranges, line_heads, line_offsets,
                              lines_starting_with, parse_lines, parse_rows, parse_table, read_bytes, read_text, read_xyz_frames)
from analysis.io.trajectory import default_state_labels, hop_frames, hops_from_states


def test_line_offsets_handle_crlf_and_a_missing_final_newline():
    raw = b"ab\r\ncd\nefg"
    starts, ends = line_offsets(raw)
    assert [raw[s:e] for s, e in zip(starts, ends)] == [b"ab", b"cd", b"efg"]
    starts, ends = line_offsets(b"x\ny\n")  # a final newline makes no empty last line
    assert len(starts) == 2


def test_integer_column_names_the_line_of_the_first_bad_value():
    assert integer_column(np.array([1.0, 2.0, 3.0]), "f.dat", [5, 6, 7], "state").tolist() == [1, 2, 3]
    with pytest.raises(TrajectoryFormatError) as err:
        integer_column(np.array([1.0, 2.5, 0.0]), "f.dat", [5, 6, 7], "state")
    assert err.value.line == 6 and "state" in str(err.value) and "f.dat" in str(err.value)
    with pytest.raises(TrajectoryFormatError) as err:
        integer_column(np.array([1.0, 0.0]), "f.dat", [10, 11], "state", minimum=1)
    assert err.value.line == 11


def test_format_xyz_round_trips_through_the_xyz_frame_reader(tmp_path):
    coords = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.09]], [[0.1, -0.2, 0.3], [1.5, 2.5, -3.5]]])
    path = tmp_path / "two.xyz"
    path.write_text(format_xyz(coords, ["C", "H"], ["t=0", "t=0.5"]))
    got = read_xyz_frames(path)
    assert got["natom"] == 2
    assert np.allclose(got["coords_angstrom"], coords, atol=1e-6)
    assert path.read_text().splitlines()[1] == "t=0"


def test_hops_are_the_frames_where_the_post_hop_state_changes():
    states = np.array([3, 3, 2, 2, 2, 1, 2])
    assert hop_frames(states).tolist() == [2, 5, 6]
    hops = hops_from_states(np.arange(7) * 0.5, states)
    assert hops[["frame", "from_state", "to_state"]].values.tolist() == [[2, 3, 2], [5, 2, 1], [6, 1, 2]]
    assert hops["time_fs"].tolist() == [1.0, 2.5, 3.0]
    assert hop_frames(np.array([1])).size == 0
    assert default_state_labels(3) == ["S0", "S1", "S2"]


def test_natural_order_puts_traj10_after_traj2():
    names = ["TRAJ10", "TRAJ2", "traj1", "TRAJ_00003"]
    assert sorted(names, key=natural_key) == ["traj1", "TRAJ2", "TRAJ10", "TRAJ_00003"]
    assert natural_rank(pd.Series(["TRAJ10", "TRAJ2", "TRAJ10"])).tolist() == [1, 0, 1]


def test_manifest_round_trips_and_its_digest_sees_a_modified_file(tmp_path):
    import os

    from analysis import demo

    demo.generate_demo(tmp_path / "d", n_trajectories=2, seed=1, t_max_fs=50.0, broken_fraction=0)
    found = discover(tmp_path / "d" / "ensemble")
    table = manifest(found)
    write_manifest(table, tmp_path / "m.tsv")
    back = read_manifest(tmp_path / "m.tsv")
    assert back.equals(table.astype({c: back[c].dtype for c in back.columns}))
    assert [f.trajectory_id for f in found_from_manifest(back)] == [f.trajectory_id for f in found]
    digest = manifest_digest(table)
    en = tmp_path / "d" / "ensemble" / "TRAJ1" / "RESULTS" / "en.dat"
    os.utime(en, ns=(en.stat().st_atime_ns, en.stat().st_mtime_ns + 10**9))
    assert manifest_digest(manifest(found)) != digest
    assert manifest_digest(manifest(found)) == manifest_digest(manifest(found))


RAW = b"ab\r\n\n  \t\nxyz 1\nabc 2 3"  # lines: "ab" (CRLF), "", "  \t", "xyz 1", "abc 2 3" (no final newline)


def test_byte_at_and_line_heads_pad_short_lines_with_zeros():
    starts, ends = line_offsets(RAW)
    assert byte_at(RAW, starts, ends, 0).tolist() == [ord("a"), 0, ord(" "), ord("x"), ord("a")]
    assert byte_at(RAW, starts, ends, 2).tolist() == [0, 0, ord("\t"), ord("z"), ord("c")]  # the CR of line 1 is not a byte of it
    heads = line_heads(RAW, starts, ends, 3)
    assert heads.dtype == np.uint8 and heads.shape == (5, 3)
    assert [bytes(h).rstrip(b"\0") for h in heads] == [b"ab", b"", b"  \t", b"xyz", b"abc"]


def test_head_is_and_lines_starting_with_look_only_at_candidate_lines():
    starts, ends = line_offsets(RAW)
    heads = line_heads(RAW, starts, ends, 3)
    assert head_is(heads, b"ab").tolist() == [True, False, False, False, True]
    assert head_is(heads, b"yz", offset=1).tolist() == [False, False, False, True, False]
    candidates = np.array([False, True, True, True, True])
    assert lines_starting_with(RAW, starts, ends, candidates, (b"ab", b"xy")).tolist() == [False, False, False, True, True]
    assert not lines_starting_with(RAW, starts, ends, np.zeros(5, bool), (b"ab",)).any()


def test_blank_lines_are_those_of_spaces_tabs_and_cr_only():
    starts, ends = line_offsets(RAW)
    assert blank_lines(RAW, starts, ends).tolist() == [False, True, True, False, False]


def test_join_ranges_gives_each_range_a_newline():
    starts, ends = line_offsets(RAW)
    assert join_ranges(RAW, starts[[0, 3]], ends[[0, 3]]) == b"ab\nxyz 1\n"
    assert join_ranges(RAW, starts[:0], ends[:0]) == b""


def test_parse_table_reads_regular_rows_and_refuses_irregular_ones():
    np.testing.assert_array_equal(parse_table(b"1 2 3\n4 5 6\n", 3, (0, 2)), [[1, 3], [4, 6]])
    assert parse_table(b"", 3, (0, 1)).shape == (0, 2)
    for bad in (b"1 2 3\n4 5\n", b"1 2 3\n4 5 6 7\n", b"1 2 3\n4 x 6\n", b"1 nan 3\n"):
        with pytest.raises(ValueError):
            parse_table(bad, 3, (0, 1))


def test_parse_rows_names_the_file_line_of_the_bad_row():
    np.testing.assert_array_equal(parse_rows(["1 2", "3 4"], [5, 6], "f.dat", 2, "pairs"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_rows(["1 2 9", "3 4 9"], [1, 2], "f.dat", None, "rows", usecols=[1]), [[2], [4]])
    with pytest.raises(TrajectoryFormatError, match=r"f\.dat:6: expected pairs with 2 fields \(found 3\)"):
        parse_rows(["1 2", "3 4 5"], [5, 6], "f.dat", 2, "pairs")
    with pytest.raises(TrajectoryFormatError, match=r"f\.dat:8: expected numbers in pairs"):
        parse_rows(["1 2", "3 four"], [7, 8], "f.dat", 2, "pairs")


def test_parse_lines_takes_the_fast_path_or_names_the_first_bad_line():
    raw = b"# head\n1.5 2 3\n4 5 6\n7 8 oops\n"
    starts, ends = line_offsets(raw)
    np.testing.assert_array_equal(parse_lines(raw, starts, ends, np.array([1, 2]), 3, (0, 2), "e.dat", "energies"), [[1.5, 3], [4, 6]])
    with pytest.raises(TrajectoryFormatError, match=r"e\.dat:4: expected numbers in energies"):
        parse_lines(raw, starts, ends, np.array([1, 2, 3]), 3, (0, 2), "e.dat", "energies")
    short = b"1 2 3\n4 5\n"  # the missing field is not a used one: still a wrong row
    starts, ends = line_offsets(short)
    with pytest.raises(TrajectoryFormatError, match=r"e\.dat:2: expected energies with 3 fields \(found 2\)"):
        parse_lines(short, starts, ends, np.array([0, 1]), 3, (0, 1), "e.dat", "energies")


def test_read_bytes_refuses_empty_and_non_ascii_files(tmp_path):
    (tmp_path / "ok.txt").write_bytes(b"H 0 0 0\n")
    assert read_bytes(tmp_path / "ok.txt") == b"H 0 0 0\n" and read_text(tmp_path / "ok.txt") == "H 0 0 0\n"
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"H \xff\x00 0\n")
    for name in ("empty.txt", "bin.txt"):
        with pytest.raises(TrajectoryFormatError, match=name):
            read_bytes(tmp_path / name)


def test_writing_xyz_or_training_the_surrogate_does_not_load_numba():
    """numba (LLVM) adds ~100 MB of RSS to a process; the text helpers load it only when a reader parses numbers,
    so the surrogate, next-calculations and XYZ-writing jobs stay without it (it had cost them 108 MB)."""
    import subprocess
    import sys

    code = ("import sys\nimport analysis.io.text, analysis.surrogate.active, analysis.surrogate.train\n"
            "print('numba' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
