"""Discovery records, batch manifests and reading one trajectory: what each returns and how each fails."""

import zlib

import pytest

from analysis.ingest import IngestError, ingest_batch, read_one
from analysis.io.discover import REGISTRY, Found, ReaderSpec, batch_manifest, discover
from analysis.io.errors import TrajectoryFormatError


def _xyz_ensemble(root, n=6):
    for k in range(1, n + 1):
        (root / f"T{k}").mkdir(parents=True)
        (root / f"T{k}" / "run.xyz").write_text("1\nf0\nH 0 0 0\n1\nf1\nH 0 0 0.1\n")
        (root / f"T{k}" / "notes.txt").write_text("not read\n")


def test_found_lists_the_files_its_reader_reads_and_every_registry_entry_is_a_reader_spec(tmp_path):
    _xyz_ensemble(tmp_path)
    found = discover(tmp_path)
    assert [f.trajectory_id for f in found] == [f"T{k}" for k in range(1, 7)] and all(isinstance(f, Found) for f in found)
    assert [p.name for p in found[0].files()] == ["run.xyz"]
    assert [p.name for p in Found("T1", tmp_path / "T1", "unknown").files()] == ["notes.txt", "run.xyz"]
    assert all(isinstance(spec, ReaderSpec) and spec.name == name for name, spec in REGISTRY.items())


def test_batch_manifest_holds_the_trajectories_hashed_to_its_batch(tmp_path):
    _xyz_ensemble(tmp_path)
    rows = [batch_manifest(tmp_path, n_batches=3, batch=b) for b in range(3)]
    ids = [sorted(set(r.trajectory_id)) for r in rows]
    assert sorted(sum(ids, [])) == sorted(f"T{k}" for k in range(1, 7))  # each trajectory in exactly one batch
    for b, batch_ids in enumerate(ids):
        assert all(zlib.crc32(t.encode()) % 3 == b for t in batch_ids)
    assert set(rows[0].columns) >= {"trajectory_id", "folder", "format", "file", "size_bytes", "mtime_ns"}


def test_read_one_names_the_unknown_folder_the_missing_file_and_a_reader_crash(tmp_path):
    _xyz_ensemble(tmp_path, 1)
    assert read_one(Found("T1", tmp_path / "T1", "xyz")).n_frames == 2
    (tmp_path / "odd").mkdir()
    with pytest.raises(TrajectoryFormatError, match="no reader recognises its files"):
        read_one(Found("odd", tmp_path / "odd", "unknown"))
    with pytest.raises(TrajectoryFormatError, match=r"dyn\.out|en\.dat|missing"):
        read_one(Found("T1", tmp_path / "T1", "newtonx"))  # the newtonx files are not there


def test_on_error_fail_raises_ingest_error_naming_the_trajectory(tmp_path):
    _xyz_ensemble(tmp_path, 2)
    (tmp_path / "T2" / "run.xyz").write_text("1\nf0\nH 0 0 zero\n")
    table = ingest_batch(tmp_path, tmp_path / "s.npz", tmp_path / "t.csv", on_error="exclude")
    assert dict(zip(table.trajectory_id, table.status)) == {"T1": "ok", "T2": "excluded"}
    assert "run.xyz:3" in table.set_index("trajectory_id").loc["T2", "reason"]
    with pytest.raises(IngestError, match=r"input\.on_error=fail: .*run\.xyz:3"):
        ingest_batch(tmp_path, tmp_path / "s2.npz", tmp_path / "t2.csv", on_error="fail")
