"""Trajectory files stored compressed (.gz, .bz2, .xz: how finished runs are archived) read exactly as the
plain files do, and a broken archive is named with what was expected."""

import bz2
import gzip
import lzma
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.io.discover import READERS, batch_manifest, detect_format, discover
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import glob_text, resolve, stored_text_files
from analysis.io.text import read_bytes
from tests.conftest import shared

CODECS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _compressed_copy(folder, target, codecs=tuple(CODECS)):
    """Copy of ``folder`` whose every file is compressed, the codecs taken in turn."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for k, path in enumerate(files):
        suffix = codecs[k % len(codecs)]
        out = target / path.relative_to(folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_name(out.name + suffix).write_bytes(CODECS[suffix](path.read_bytes()))
    return target


def _assert_same_trajectory(a, b):
    assert a.symbols == b.symbols and a.state_labels == b.state_labels and a.flags == b.flags
    for name, value in vars(a).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, getattr(b, name), err_msg=name)


REAL = [("newtonx", "cyclohexadiene_nx2.2"), ("newtonx", "pyrazine_nx2.6"), ("sharc", "butene_sharc2.1"),
        ("sharc", "ch2s_sharc2"), ("pyrai2md", "ch2nh2"), ("nexmd", "benzene")]


@pytest.mark.parametrize("parts", REAL, ids=["/".join(p) for p in REAL])
def test_a_compressed_real_trajectory_reads_as_the_plain_one(tmp_path, parts):
    root = shared(*parts)
    plain = discover(root)[0]
    packed = _compressed_copy(plain.folder, tmp_path / plain.trajectory_id)
    assert not any(p.suffix not in CODECS for p in packed.rglob("*") if p.is_file())
    assert detect_format(packed) == plain.format
    fmt = plain.format
    _assert_same_trajectory(READERS[fmt](plain.folder, plain.trajectory_id), READERS[fmt](packed, plain.trajectory_id))
    # the manifest lists the files as stored, so a changed archive is re-ingested
    rows = batch_manifest(tmp_path)
    assert len(rows) == len(discover(root)[0].files()) and rows["file"].str.endswith(tuple(CODECS)).all()


def test_a_compressed_planted_ensemble_reads_as_the_plain_one_in_every_format(small_demo, tmp_path):
    from analysis.io.text import format_xyz

    out, truth = small_demo
    tid = truth.loc[truth.broken == "", "trajectory_id"].iloc[0]
    for suffix in CODECS:
        packed = _compressed_copy(out / "ensemble" / tid, tmp_path / suffix / tid, codecs=(suffix,))
        assert detect_format(packed) == "newtonx"
        _assert_same_trajectory(READERS["newtonx"](out / "ensemble" / tid, tid), READERS["newtonx"](packed, tid))
    # plain XYZ + CSV through MDAnalysis (which opens .gz/.bz2 itself but not .xz)
    nx = READERS["newtonx"](out / "ensemble" / tid, tid)
    plain = tmp_path / "xyz" / tid
    plain.mkdir(parents=True)
    (plain / "traj.xyz").write_text(format_xyz(nx.coords_angstrom, nx.symbols, [f"t={t}" for t in nx.time_fs], decimals=8))
    pd.DataFrame({"time_fs": nx.time_fs, "active_state": nx.active_state, "e1_ev": nx.energies_ev[:, 0],
                  "e2_ev": nx.energies_ev[:, 1]}).to_csv(plain / "traj.csv", index=False)
    for suffix in CODECS:
        packed = _compressed_copy(plain, tmp_path / f"xyz{suffix}" / tid, codecs=(suffix,))
        assert detect_format(packed) == "xyz"
        _assert_same_trajectory(READERS["xyz"](plain, tid), READERS["xyz"](packed, tid))


def test_a_truncated_archive_is_named_with_what_was_expected(tmp_path):
    data = gzip.compress(b"1 2 3\n" * 1000)
    (tmp_path / "en.dat.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(TrajectoryFormatError, match=r"en\.dat\.gz: expected a complete gz file \(EOFError"):
        read_bytes(tmp_path / "en.dat")
    (tmp_path / "x.xyz.xz").write_bytes(b"not xz at all")
    with pytest.raises(TrajectoryFormatError, match=r"x\.xyz\.xz: expected a complete xz file"):
        read_bytes(tmp_path / "x.xyz")


def test_a_bad_line_inside_an_archive_names_the_archive_and_the_decompressed_line(small_demo, tmp_path):
    out, truth = small_demo
    tid = truth.loc[truth.broken == "", "trajectory_id"].iloc[0]
    folder = tmp_path / tid
    shutil.copytree(out / "ensemble" / tid, folder)
    en = folder / "RESULTS" / "en.dat"
    lines = en.read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace(lines[4].split()[1], "1.2.3", 1)  # line 5: a malformed number
    (en.parent / "en.dat.gz").write_bytes(gzip.compress("".join(lines).encode()))
    en.unlink()
    with pytest.raises(TrajectoryFormatError) as err:
        READERS["newtonx"](folder, tid)
    assert err.value.path.endswith("en.dat.gz") and err.value.line == 5
    assert "en.dat.gz:5 (decompressed): expected" in str(err.value)


def test_a_plain_file_wins_over_its_compressed_twin(tmp_path):
    (tmp_path / "a.xyz").write_text("plain")
    (tmp_path / "a.xyz.gz").write_bytes(gzip.compress(b"packed"))
    (tmp_path / "b.xyz.bz2").write_bytes(bz2.compress(b"only packed"))
    assert glob_text(tmp_path, "*.xyz") == [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    assert resolve(tmp_path / "a.xyz") == tmp_path / "a.xyz" and resolve(tmp_path / "b.xyz") == tmp_path / "b.xyz.bz2"
    assert read_bytes(tmp_path / "a.xyz") == b"plain" and read_bytes(tmp_path / "b.xyz") == b"only packed"
    assert resolve(tmp_path / "c.xyz") is None
    with pytest.raises(FileNotFoundError, match=r"nor c\.xyz\.gz, c\.xyz\.bz2, c\.xyz\.xz") as err:
        read_bytes(tmp_path / "c.xyz")
    assert err.value.filename == str(tmp_path / "c.xyz")  # ingest names a missing file by it


def test_one_listing_finds_what_glob_and_resolve_find(tmp_path):
    """stored_text_files (one directory listing per folder) against pathlib's glob + resolve on a folder mixing
    plain, compressed, twin, nested, directory and symlinked entries."""
    (tmp_path / "RESULTS").mkdir()
    (tmp_path / "RESULTS" / "dyn.out.xz").write_bytes(b"")
    (tmp_path / "RESULTS" / "en.dat").write_text("")
    (tmp_path / "RESULTS" / "en.dat.gz").write_bytes(b"")
    (tmp_path / "t.md.xyz.bz2").write_bytes(b"")
    (tmp_path / "t.md.xyz.gz").write_bytes(b"")  # .gz is looked for before .bz2
    (tmp_path / "u.md.xyz").mkdir()  # a folder is not a file
    (tmp_path / "v.md.xyz").symlink_to(tmp_path / "RESULTS" / "en.dat")
    (tmp_path / "dyn.out").symlink_to(tmp_path / "missing")  # a dangling link is not a file
    patterns = ["RESULTS/dyn.out", "RESULTS/en.dat", "RESULTS/sh.out", "dyn.out", "*.md.xyz", "NOPE/x"]
    expected = {p: resolve(p) for g in patterns for p in sorted({q for q in tmp_path.glob(g) if q.is_file()}
                                                              | {q.with_name(q.name[:-len(s)]) for s in (".gz", ".bz2", ".xz")
                                                                 for q in tmp_path.glob(g + s) if q.is_file()})}
    assert stored_text_files(tmp_path, patterns) == expected
    assert expected == {tmp_path / "RESULTS" / "dyn.out": tmp_path / "RESULTS" / "dyn.out.xz",
                        tmp_path / "RESULTS" / "en.dat": tmp_path / "RESULTS" / "en.dat",
                        tmp_path / "t.md.xyz": tmp_path / "t.md.xyz.gz", tmp_path / "v.md.xyz": tmp_path / "v.md.xyz"}
