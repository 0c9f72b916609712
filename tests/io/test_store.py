"""The trajectory store round trip and the batching of trajectories."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from analysis.io.discover import auto_batches, batch_of
from analysis.io.store import Store, write_store
from analysis.io.trajectory import Trajectory
from tests.conftest import ROOT


def _trajectory(tid: str, n_frames: int, with_optional: bool, rng) -> Trajectory:
    n_atoms, n_states = 4, 3
    return Trajectory(
        trajectory_id=tid, source_path=f"/data/{tid}", format="sharc", symbols=["C", "H", "H", "O"],
        masses_amu=np.array([12.0, 1.008, 1.008, 15.995]), time_fs=np.arange(n_frames) * 0.5,
        coords_angstrom=rng.normal(size=(n_frames, n_atoms, 3)), active_state=rng.integers(1, 4, n_frames),
        energies_ev=rng.normal(size=(n_frames, n_states)), total_energy_ev=rng.normal(size=n_frames),
        populations=rng.random((n_frames, n_states)) if with_optional else None,
        potential_energy_ev=rng.normal(size=n_frames),
        state_labels=["S0", "S1", "T1"], multiplicities=np.array([1, 1, 3]) if with_optional else None,
        extra={"diag_state": rng.integers(1, 4, n_frames)} if with_optional else {},
        flags=["truncated"] if with_optional else [],
    )


def test_store_round_trip_keeps_every_array_and_field(tmp_path):
    rng = np.random.default_rng(0)
    written = [_trajectory("TRAJ_00001", 7, True, rng), _trajectory("TRAJ_00002", 3, False, rng)]
    write_store(written, tmp_path / "b.npz")
    with Store(tmp_path / "b.npz") as store:
        assert store.ids == ["TRAJ_00001", "TRAJ_00002"]
        read = list(store)
        assert np.array_equal(store.array("TRAJ_00002", "time_fs"), written[1].time_fs)
    for a, b in zip(written, read):
        for name in ("trajectory_id", "source_path", "format", "symbols", "state_labels", "flags"):
            assert getattr(a, name) == getattr(b, name), name
        for name in ("masses_amu", "time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev",
                     "potential_energy_ev"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        for name in ("populations", "multiplicities"):
            assert (getattr(a, name) is None) == (getattr(b, name) is None)
            if getattr(a, name) is not None:
                assert np.array_equal(getattr(a, name), getattr(b, name))
        assert set(a.extra) == set(b.extra) and all(np.array_equal(a.extra[k], b.extra[k]) for k in a.extra)


def test_a_store_written_trajectory_by_trajectory_is_what_one_savez_of_the_batch_wrote(tmp_path):
    """StoreWriter streams (one trajectory in memory); the file holds the members np.savez of the whole batch held,
    in the same order, with the same bytes, and the same zip layout (stored, ZIP64 entries)."""
    import json
    import zipfile

    from analysis.io.store import StoreWriter

    rng = np.random.default_rng(1)
    batch = [_trajectory("T1", 5, True, rng), _trajectory("T2", 4, False, rng), _trajectory("T3", 6, True, rng)]
    with StoreWriter(tmp_path / "streamed.npz") as writer:
        for t in batch:
            writer.add(t)
    arrays = {}
    for t in batch:  # what write_store built before it streamed
        names = ["time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev", "potential_energy_ev",
                 "masses_amu"] + [n for n in ("populations", "multiplicities") if getattr(t, n) is not None]
        arrays.update({f"{t.trajectory_id}/{n}": getattr(t, n) for n in names})
        arrays.update({f"{t.trajectory_id}/extra/{n}": v for n, v in t.extra.items()})
    arrays["__meta__"] = np.array(json.dumps([{"trajectory_id": t.trajectory_id, "source_path": t.source_path, "format": t.format,
                                               "symbols": t.symbols, "state_labels": t.state_labels, "flags": t.flags,
                                               "extra": sorted(t.extra)} for t in batch]))
    np.savez(tmp_path / "whole.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "streamed.npz") as a, zipfile.ZipFile(tmp_path / "whole.npz") as b:
        assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
        for x, y in zip(a.infolist(), b.infolist()):
            assert x.compress_type == y.compress_type == zipfile.ZIP_STORED and a.read(x) == b.read(y), x.filename
    with Store(tmp_path / "streamed.npz") as store:
        assert store.ids == ["T1", "T2", "T3"] and np.array_equal(store.rows("T3", "coords_angstrom", [1, 2]),
                                                                   batch[2].coords_angstrom[1:3])


def test_empty_store_is_valid(tmp_path):
    write_store([], tmp_path / "empty.npz")
    with Store(tmp_path / "empty.npz") as store:
        assert store.ids == [] and list(store) == []


def test_store_never_unpickles(tmp_path):
    np.savez(tmp_path / "evil.npz", __meta__=np.array("[]"), obj=np.array([object()], dtype=object))
    with Store(tmp_path / "evil.npz") as store, pytest.raises(ValueError, match="pickle"):
        store._npz["obj"]


def test_batches_are_stable_balanced_and_independent_of_the_hash_seed():
    ids = [f"TRAJ{k}" for k in range(1, 2001)]
    batches = np.array([batch_of(t, 8) for t in ids])
    assert batches.min() == 0 and batches.max() == 7
    counts = np.bincount(batches, minlength=8)
    assert counts.min() > 0.8 * len(ids) / 8 and counts.max() < 1.2 * len(ids) / 8
    # adding a trajectory never moves the others
    assert [batch_of(t, 8) for t in ids[:50]] == list(batches[:50])
    # another interpreter with another string-hash seed puts every trajectory in the same batch
    code = "from analysis.io.discover import batch_of; print([batch_of(f'TRAJ{k}', 8) for k in range(1, 51)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == str([int(b) for b in batches[:50]])


def test_auto_batches_keep_a_batch_near_its_size_and_never_fewer_than_two():
    assert [auto_batches(n) for n in (1, 60, 500, 1000, 1001, 2000, 2001, 5000)] == [2, 2, 2, 2, 3, 4, 5, 10]
    assert [auto_batches(n, batch_trajectories=250) for n in (500, 501, 1000, 1001, 2000, 5000)] == [2, 3, 4, 5, 8, 20]
    assert auto_batches(5000, batch_trajectories=1000) == 5
    # the largest batch stays near batch_trajectories as the ensemble grows (the hash spreads them evenly)
    for n in (2000, 8000):
        counts = np.bincount([batch_of(f"TRAJ{k}", auto_batches(n)) for k in range(n)])
        assert counts.max() < 1.25 * 500


def test_rows_read_only_the_asked_frames_and_equal_indexing_the_whole_array(tmp_path):
    rng = np.random.default_rng(1)
    written = [_trajectory("T1", 9, True, rng)]
    write_store(written, tmp_path / "b.npz")
    coords = written[0].coords_angstrom
    with Store(tmp_path / "b.npz") as store:
        assert store.shape("T1", "coords_angstrom") == coords.shape
        for rows in (0, -1, [8, 0, 3], np.array([2, 3, 4, 7]), slice(1, 6, 2), [], coords[:, 0, 0] > 0):
            got = store.rows("T1", "coords_angstrom", rows)
            assert got.shape == coords[rows].shape and np.array_equal(got, coords[rows]), rows
        assert np.array_equal(store.rows("T1", "energies_ev", [4]), written[0].energies_ev[[4]])
    # a compressed store (older versions wrote zlib) is read whole and indexed: same answer
    np.savez_compressed(tmp_path / "z.npz", **{"T1/coords_angstrom": coords, "__meta__": np.array('[{"trajectory_id": "T1"}]')})
    with Store(tmp_path / "z.npz") as store:
        assert np.array_equal(store.rows("T1", "coords_angstrom", [5, 1]), coords[[5, 1]])
        assert store.shape("T1", "coords_angstrom") == coords.shape


def test_member_layout_agrees_with_numpys_header_parser_for_every_kind_of_array(tmp_path):
    """The fast header parse (a regular expression) must say what numpy's own parser says, and rows read with it
    must be the array's rows."""
    import zipfile

    from analysis.io.store import _stored_layout

    arrays = {"f8": np.arange(12.0).reshape(3, 4), "i8": np.arange(5, dtype=np.int64), "f4": np.ones((0, 3), np.float32),
              "scalar": np.array(3.0), "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              "text": np.array(["ab", "c"]), "big_endian": np.arange(4, dtype=">f8"), "bool": np.array([True, False])}
    np.savez(tmp_path / "t.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "t.npz") as zf, open(tmp_path / "t.npz", "rb") as fh:
        for name, value in arrays.items():
            offset, dtype, shape, fortran = _stored_layout(fh, zf.getinfo(f"{name}.npy"))
            with zf.open(f"{name}.npy") as member:
                version = np.lib.format.read_magic(member)
                assert version == (1, 0)
                ref_shape, ref_fortran, ref_dtype = np.lib.format.read_array_header_1_0(member)
            assert (dtype, tuple(shape), fortran) == (ref_dtype, tuple(ref_shape), ref_fortran), name
            fh.seek(offset)
            raw = np.frombuffer(fh.read(value.nbytes), dtype=dtype)
            np.testing.assert_array_equal(raw.reshape(shape, order="F" if fortran else "C"), value, err_msg=name)


def test_whole_arrays_read_directly_equal_numpys_for_every_kind_and_a_cut_store_says_so(tmp_path):
    """``Store.array`` (and ``Store.rows``) reads an uncompressed member with one seek and read: the same values, dtype and shape as
    ``np.load`` for every kind of array (a Fortran-ordered one goes through ``np.load``), writable like
    ``np.load``'s; a store cut short names the file and the member rather than returning short data."""
    arrays = {"f8": np.arange(12.0).reshape(3, 4), "i8": np.arange(5, dtype=np.int64), "f4": np.ones((0, 3), np.float32),
              "scalar": np.array(3.0), "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              "text": np.array(["ab", "c"]), "big_endian": np.arange(4, dtype=">f8"), "bool": np.array([True, False])}
    meta = np.array('[{"trajectory_id": "T1"}]')
    np.savez(tmp_path / "t.npz", **{f"T1/{k}": v for k, v in arrays.items()}, __meta__=meta)
    with Store(tmp_path / "t.npz") as store, np.load(tmp_path / "t.npz") as reference:
        for name, value in arrays.items():
            got = store.array("T1", name)
            assert got.dtype == reference[f"T1/{name}"].dtype and got.shape == value.shape, name
            np.testing.assert_array_equal(got, value, err_msg=name)
            assert got.flags.writeable, name
    # a store cut short while it is read (a job's file truncated under it: the directory was read at open)
    np.savez(tmp_path / "c.npz", **{"T1/coords_angstrom": np.arange(1000.0)}, __meta__=meta)
    with Store(tmp_path / "c.npz") as store:
        offset = store._stored("T1", "coords_angstrom")[0]
        os.truncate(tmp_path / "c.npz", offset + 800)  # 100 of the 1,000 floats left
        with pytest.raises(ValueError, match=r"c\.npz: T1/coords_angstrom is cut short"):
            store.array("T1", "coords_angstrom")
        with pytest.raises(ValueError, match=r"c\.npz: T1/coords_angstrom is cut short"):
            store.rows("T1", "coords_angstrom", [5, 500])
