"""The trajectory store: one uncompressed ``.npz`` per batch, read by every later stage.

Layout: for each trajectory id ``T``, arrays ``T/time_fs``, ``T/coords_angstrom``, ``T/active_state``,
``T/energies_ev``, ``T/total_energy_ev``, ``T/potential_energy_ev``, ``T/masses_amu``, optional
``T/populations`` and ``T/multiplicities``, format-specific ``T/extra/<name>``; plus ``__meta__``, a JSON
string with ids, symbols, state labels, source paths, formats and flags. Arrays load lazily, so a stage
that needs only energies never reads coordinates.

Why uncompressed (``python bench/store_formats.py``, one batch of 249 trajectories x 1,001 frames): zlib
saved 10 % of the size (82.7 vs 92.1 MB; noisy float64 coordinates hardly compress) and cost 10x the write
time (3.58 vs 0.34 s) and 2x the read (0.68 vs 0.35 s). Parquet/zstd read faster (0.22 s, 78 MB) but gives
up the per-trajectory lazy access; zarr/zstd was slowest (11.8 s write, 3.9 s read).
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from analysis.io.trajectory import Trajectory

_ARRAYS = ("time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev",
           "potential_energy_ev", "masses_amu")
_OPTIONAL = ("populations", "multiplicities")


class StoreWriter:
    """Writes one batch store trajectory by trajectory (:meth:`add`), so a job holds one trajectory in memory, not
    the batch: the same members, in the same order, as ``np.savez`` of them all (uncompressed, ZIP64), with
    ``__meta__`` last (:meth:`close`). Use as a context manager.

    Measured (one batch of 250 Newton-X trajectories, 13 atoms): holding the batch until one ``np.savez`` took
    343 MB at 1,000 steps and 655 MB at 4,000; at 10,000 steps a batch would have passed 1 GB."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(self.path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._meta: list[dict] = []

    def _write(self, name: str, value) -> None:
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)

    def add(self, t: Trajectory) -> None:
        """Write one trajectory's arrays now and keep its metadata for :meth:`close`."""
        for name in _ARRAYS:
            self._write(f"{t.trajectory_id}/{name}", getattr(t, name))
        for name in _OPTIONAL:
            if getattr(t, name) is not None:
                self._write(f"{t.trajectory_id}/{name}", getattr(t, name))
        for name, value in t.extra.items():
            self._write(f"{t.trajectory_id}/extra/{name}", value)
        self._meta.append({"trajectory_id": t.trajectory_id, "source_path": t.source_path, "format": t.format,
                           "symbols": list(t.symbols), "state_labels": list(t.state_labels), "flags": list(t.flags),
                           "extra": sorted(t.extra)})

    def close(self) -> None:
        """Write ``__meta__`` and finish the file."""
        if self._zip.fp is None:
            return
        self._write("__meta__", np.array(json.dumps(self._meta)))
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_store(trajectories, path: str | Path) -> None:
    """Write trajectories to one npz (an empty list gives a valid empty store); see :class:`StoreWriter`."""
    with StoreWriter(path) as writer:
        for t in trajectories:
            writer.add(t)


def usable_frames(trajectories) -> dict[str, int]:
    """Trajectories to analyse and how many of their frames: ``{trajectory_id: n_frames_used}`` for every row
    of the final trajectory table (path or DataFrame) whose status is ``ok``. ``n_frames_used`` is below
    ``n_frames`` when QC truncated the trajectory at its first failed check (``qc.policy: truncate``)."""
    import pandas as pd

    table = pd.read_parquet(trajectories) if not isinstance(trajectories, pd.DataFrame) else trajectories
    ok = table[table["status"] == "ok"]
    used = ok["n_frames_used"] if "n_frames_used" in ok else ok["n_frames"]
    return {tid: int(n) for tid, n in zip(ok["trajectory_id"], used)}


_NPY_HEADER = re.compile(r"\{'descr': '(?P<descr>[<>|=]?[a-zA-Z]\d*)', 'fortran_order': (?P<fortran>True|False), "
                         r"'shape': \((?P<shape>[\d, ]*)\), \}\s*$")


def _stored_layout(fh, info: zipfile.ZipInfo):
    """(data offset, dtype, shape, fortran order) of an uncompressed ``.npy`` member of the zip open as ``fh``, or
    None when it is compressed: the local file header gives where the member's bytes start, the ``.npy`` header
    their layout."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    fh.seek(info.header_offset)
    local = fh.read(30)
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    fh.seek(start)
    head = fh.read(10)
    if head[:6] == b"\x93NUMPY" and head[6] == 1:  # version 1.0: 2-byte header length, then the header's dict
        header_len = struct.unpack("<H", head[8:10])[0]
        found = _NPY_HEADER.match(fh.read(header_len).decode("latin1"))
        if found:  # numpy's own parser (ast) costs 0.4 ms a member; the store reads thousands
            shape = tuple(int(v) for v in found["shape"].replace(",", " ").split())
            return start + 10 + header_len, np.dtype(found["descr"]), shape, found["fortran"] == "True"
    fh.seek(start)
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(fh)
    return fh.tell(), dtype, shape, fortran


_PER_ATOM = {"coords_angstrom": -2, "masses_amu": -1}  # arrays with an atom axis, and which axis it is (from the end)


class Store:
    """Lazy reader of one batch store. Use as a context manager or call :meth:`close`.

    With ``atoms`` (an :class:`analysis.atoms.AtomSelection`, e.g. ``Topology.selection()``), the trajectories of
    that system read as its analysed atoms alone: their symbols, masses and coordinates (a trajectory with
    other atoms reads whole)."""

    def __init__(self, path: str | Path, atoms=None):
        self.path = Path(path)
        self._npz = np.load(self.path, allow_pickle=False)
        self.meta = {m["trajectory_id"]: m for m in json.loads(str(self._npz["__meta__"]))}
        self._layout: dict = {}
        self._fh = None
        self._atoms = np.asarray(atoms.atoms, dtype=int) if atoms is not None else None
        self._selected = set()
        if atoms is not None:
            for tid, m in self.meta.items():
                if atoms.applies(m["symbols"]):
                    self._selected.add(tid)
                    m["symbols"] = atoms.symbols()

    def _select(self, trajectory_id: str, name: str, value: np.ndarray) -> np.ndarray:
        """``value`` restricted to the analysed atoms where this trajectory and array have them."""
        if trajectory_id not in self._selected or name not in _PER_ATOM:
            return value
        return np.take(value, self._atoms, axis=_PER_ATOM[name])

    @property
    def ids(self) -> list[str]:
        return list(self.meta)

    def array(self, trajectory_id: str, name: str) -> np.ndarray:
        """The whole array ``name`` of one trajectory: one seek and read where it is stored uncompressed in C order
        (every store this version writes; NumPy's zip reader cost 3x that per array in Python: the member's open,
        its header parsed with ``ast``, the CRC), else through ``np.load``."""
        layout = self._stored(trajectory_id, name)
        if layout is None or layout[3]:
            return self._select(trajectory_id, name, self._npz[f"{trajectory_id}/{name}"])
        offset, dtype, shape, _ = layout
        out = np.empty(shape, dtype)
        self._read_into(offset, out.reshape(-1), f"{trajectory_id}/{name}")
        return self._select(trajectory_id, name, out)

    def _read_into(self, offset: int, out: np.ndarray, member: str) -> None:
        """Fill the contiguous array ``out`` with the bytes of the store from ``offset`` on (one seek and read)."""
        if not out.nbytes:
            return
        self._fh.seek(offset)
        if self._fh.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise ValueError(f"{self.path}: {member} is cut short (truncated store file)")

    def shape(self, trajectory_id: str, name: str) -> tuple[int, ...]:
        """Shape of one trajectory's array ``name``, from its header alone where it is stored uncompressed."""
        layout = self._stored(trajectory_id, name)
        if layout is None:
            return self.array(trajectory_id, name).shape
        shape = list(layout[2])
        if trajectory_id in self._selected and name in _PER_ATOM:
            shape[len(shape) + _PER_ATOM[name]] = len(self._atoms)
        return tuple(shape)

    def _stored(self, trajectory_id: str, name: str):
        key = f"{trajectory_id}/{name}.npy"
        if key not in self._layout:
            if self._fh is None:
                self._fh = open(self.path, "rb")
            self._layout[key] = _stored_layout(self._fh, self._npz.zip.getinfo(key))
        return self._layout[key]

    def rows(self, trajectory_id: str, name: str, rows) -> np.ndarray:
        """Rows ``rows`` (an index, slice or index array along the first axis) of one trajectory's array ``name``,
        read without reading the rest: one seek and read per run of consecutive rows where the array is stored
        uncompressed in C order (every store this version writes), else the array is read whole and indexed."""
        layout = self._stored(trajectory_id, name)
        if layout is None or layout[3] or not len(layout[2]):
            return np.array(self.array(trajectory_id, name)[rows])
        return self._select(trajectory_id, name, self._read_rows(layout, rows, f"{trajectory_id}/{name}"))

    def _read_rows(self, layout, rows, member: str) -> np.ndarray:
        offset, dtype, shape, _ = layout
        index = np.arange(shape[0])[rows]
        flat = np.atleast_1d(index)
        row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        out = np.empty((len(flat),) + tuple(shape[1:]), dtype)
        if not len(flat):
            return out
        breaks = np.flatnonzero(np.diff(flat) != 1) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(flat)]):
            self._read_into(offset + int(flat[start]) * row_bytes, out[start:stop].reshape(-1), member)
        return out[0] if np.ndim(index) == 0 else out

    def trajectory(self, trajectory_id: str) -> Trajectory:
        m = self.meta[trajectory_id]
        optional = {name: self.array(trajectory_id, name) if f"{trajectory_id}/{name}" in self._npz.files else None
                    for name in _OPTIONAL}
        return Trajectory(
            trajectory_id=trajectory_id, source_path=m["source_path"], format=m["format"], symbols=m["symbols"],
            state_labels=m.get("state_labels", []), flags=m["flags"],
            extra={name: self._npz[f"{trajectory_id}/extra/{name}"] for name in m.get("extra", [])},
            **optional, **{name: self.array(trajectory_id, name) for name in _ARRAYS},
        )

    def __iter__(self):
        return (self.trajectory(tid) for tid in self.ids)

    def close(self):
        self._npz.close()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
