"""Ingest one batch of trajectory folders into the store; one bad trajectory never stops the batch."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from analysis.io.discover import DUPLICATE_OF, FORMATS, READERS, Found, batch_of, discover, found_from_manifest, read_manifest
from analysis.io.errors import TrajectoryFormatError
from analysis.io.trajectory import Trajectory

log = logging.getLogger(__name__)

TABLE_COLUMNS = ["trajectory_id", "source_path", "format", "n_frames", "n_atoms", "n_states", "n_hops",
                 "final_state", "final_label", "status", "reason", "flags"]


class IngestError(RuntimeError):
    """``input.on_error: fail`` and a trajectory could not be read."""


def _unknown_reason(folder: Path) -> str:
    if folder.is_symlink() and not folder.exists():
        return f"{folder}: a link to {os.readlink(folder)}, which does not exist (a purged scratch folder?)"
    known = "; ".join(f"{s.name}: {s.description}" for s in FORMATS)
    return f"{folder}: no reader recognises its files (expected one of — {known})"


def read_one(found: Found) -> Trajectory:
    """Read one discovered trajectory with its format's reader.

    Raises
    ------
    TrajectoryFormatError
        Whatever the reader finds wrong, naming the file (a missing file reads ``<path>: missing``).
    """
    if found.format.startswith(DUPLICATE_OF):
        first = found.format[len(DUPLICATE_OF):]
        raise TrajectoryFormatError(found.folder, None, "a trajectory of its own",
                                    f"{found.folder}: the same files as {first} (a link to them): analysed once, as {first}")
    if found.format == "unknown":
        raise TrajectoryFormatError(found.folder, None, "files of a known format", _unknown_reason(found.folder))
    try:
        return READERS[found.format](found.folder, trajectory_id=found.trajectory_id)
    except FileNotFoundError as exc:
        missing = Path(exc.filename) if exc.filename else found.folder
        raise TrajectoryFormatError(missing, None, "this file", f"{missing}: missing") from None
    except TrajectoryFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unforeseen reader failure must not kill the ensemble
        raise TrajectoryFormatError(found.folder, None, f"a readable {found.format} trajectory",
                                    f"{found.folder}: {found.format} reader failed ({type(exc).__name__}: {exc})") from exc


def ingest_batch(root, store_path, table_path, batch: int = 0, n_batches: int = 1, fmt: str = "auto",
                 pattern: str = "*", on_error: str = "exclude", manifest=None) -> pd.DataFrame:
    """Parse the trajectories of one batch into ``store_path``.

    Parameters
    ----------
    root : path
        Folder holding one sub-folder per trajectory (ignored when ``manifest`` is given).
    store_path, table_path : path
        Output ``.npz`` store and per-trajectory table (CSV).
    batch, n_batches : int
        This batch and the number of batches (:func:`analysis.io.discover.batch_of`).
    fmt : 'auto' or a format name
    on_error : {'exclude', 'fail'}
        What an unreadable trajectory does: recorded with the reader's message and excluded, or stop the run
        with that message (:class:`IngestError`).
    manifest : path, optional
        The batch's manifest (``discover`` rule): its trajectories are read instead of discovering anew.

    Returns
    -------
    DataFrame with :data:`TABLE_COLUMNS`.
    """
    from analysis.io.store import StoreWriter

    if manifest is not None:
        chunk = found_from_manifest(read_manifest(manifest))
    else:
        chunk = [f for f in discover(root, pattern, fmt) if batch_of(f.trajectory_id, n_batches) == batch]
    rows, n_read = [], 0
    with StoreWriter(store_path) as store:  # each trajectory is written as it is read: memory holds one at a time
        for k, found in enumerate(chunk, start=1):
            n_read += _ingest_one(found, store, rows, on_error)
            if k % 25 == 0:
                log.info("batch %d: read %d/%d trajectories", batch, k, len(chunk))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    Path(table_path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(table_path, index=False)
    log.info("batch %d: %d trajectories, %d read, %d excluded", batch, len(chunk), n_read, len(chunk) - n_read)
    return table


def _ingest_one(found: Found, store, rows: list, on_error: str) -> int:
    """Read one trajectory into ``store`` and append its table row to ``rows``: 1 when read, 0 when excluded
    (``on_error: exclude``; ``fail`` raises :class:`IngestError`)."""
    row = {"trajectory_id": found.trajectory_id, "source_path": str(found.folder), "format": found.format,
           "status": "ok", "reason": "", "flags": ""}
    try:
        traj = read_one(found)
    except TrajectoryFormatError as exc:
        if on_error == "fail":
            raise IngestError(f"input.on_error=fail: {exc}") from None
        row.update(status="excluded", reason=f"unreadable: {exc}")
        log.warning("excluded %s: %s", found.trajectory_id, exc)
        rows.append(row)
        return 0
    labels = traj.frame_labels
    row.update(n_frames=traj.n_frames, n_atoms=traj.n_atoms, n_states=traj.n_states, n_hops=len(traj.hops),
               final_state=int(traj.active_state[-1]), final_label=str(labels[-1]), flags=";".join(traj.flags))
    rows.append(row)
    store.add(traj)
    return 1
