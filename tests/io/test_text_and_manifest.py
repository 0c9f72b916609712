"""Direct tests of the text primitives, trajectory helpers and manifests (known answers, written by hand)."""

import numpy as np
import pandas as pd
import pytest

from analysis.io.discover import (discover, found_from_manifest, manifest, manifest_digest, natural_key, natural_rank,
                                  read_manifest, write_manifest)
from analysis.io.errors import TrajectoryFormatError
from analysis.io.text import format_xyz, integer_column, line_offsets, read_xyz_frames
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
