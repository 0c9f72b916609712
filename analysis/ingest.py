"""Ingest one batch of trajectory folders into the store; one bad trajectory never stops the batch."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from analysis.io.discover import READERS, batch_slice, discover
from analysis.io.errors import TrajectoryFormatError

log = logging.getLogger(__name__)

TABLE_COLUMNS = ["trajectory_id", "source_path", "format", "n_frames", "n_atoms", "n_states", "n_hops",
                 "final_state", "status", "reason", "flags"]


def ingest_batch(root, store_path, table_path, batch: int = 0, n_batches: int = 1, fmt: str = "auto",
                 pattern: str = "*", on_error: str = "exclude") -> pd.DataFrame:
    """Parse batch ``batch`` of ``n_batches`` of the trajectories under ``root`` into ``store_path``.

    Parameters
    ----------
    root : path
        Folder holding one sub-folder per trajectory.
    store_path, table_path : path
        Output ``.npz`` store and per-trajectory table (CSV).
    fmt : 'auto' or a reader name
    on_error : {'exclude', 'fail'}
        What a malformed trajectory does: recorded and excluded, or stop the run.

    Returns
    -------
    DataFrame with :data:`TABLE_COLUMNS`.
    """
    from analysis.io.store import write_store

    found = discover(root, pattern, fmt)
    chunk = [found[i] for i in batch_slice(len(found), n_batches, batch)]
    rows, good = [], []
    for k, (tid, folder, form) in enumerate(chunk, start=1):
        row = {"trajectory_id": tid, "source_path": str(folder), "format": form, "status": "ok", "reason": "", "flags": ""}
        if form == "unknown":
            row.update(status="excluded", reason="format not recognised (no reader matched the folder's files)")
            rows.append(row)
            log.warning("%s: %s", folder, row["reason"])
            continue
        try:
            traj = READERS[form](folder, trajectory_id=tid)
        except (TrajectoryFormatError, OSError) as exc:
            if on_error == "fail":
                raise
            row.update(status="excluded", reason=f"parse error: {exc}")
            log.warning("excluded %s: %s", tid, exc)
            rows.append(row)
            continue
        hops = traj.hops
        row.update(n_frames=traj.n_frames, n_atoms=traj.n_atoms, n_states=traj.n_states, n_hops=len(hops),
                   final_state=int(traj.active_state[-1]), flags=";".join(traj.flags))
        rows.append(row)
        good.append(traj)
        if k % 25 == 0:
            log.info("batch %d: read %d/%d trajectories", batch, k, len(chunk))
    write_store(good, store_path)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    Path(table_path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(table_path, index=False)
    log.info("batch %d: %d trajectories, %d read, %d excluded", batch, len(chunk), len(good), len(chunk) - len(good))
    return table
