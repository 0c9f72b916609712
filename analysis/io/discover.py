"""Find trajectory folders under a root and recognise their format."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.io import newtonx, nexmd, pyrai2md, sharc, xyz

# Order matters for format: auto — specific layouts first, plain XYZ (one *.xyz file) last.
READERS = {"newtonx": newtonx.read_newtonx, "sharc": sharc.read_sharc, "pyrai2md": pyrai2md.read_pyrai2md,
           "nexmd": nexmd.read_nexmd, "xyz": xyz.read_xyz}
DETECTORS = {"newtonx": newtonx.is_newtonx, "sharc": sharc.is_sharc, "pyrai2md": pyrai2md.is_pyrai2md,
             "nexmd": nexmd.is_nexmd, "xyz": xyz.is_xyz}


def natural_key(name: str):
    """'TRAJ10' sorts after 'TRAJ2'."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def detect_format(folder: str | Path) -> str | None:
    """Name of the first reader that recognises ``folder``, or None."""
    for name, test in DETECTORS.items():
        if test(folder):
            return name
    return None


def discover(root: str | Path, pattern: str = "*", fmt: str = "auto") -> list[tuple[str, Path, str]]:
    """Trajectory folders directly under ``root`` matching ``pattern``, in natural order.

    Returns
    -------
    list of (trajectory_id, folder, format). Folders no reader recognises are returned with format
    ``"unknown"`` so the ensemble reports them instead of silently dropping them.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"input.root: {root} is not a directory")
    if fmt != "auto" and fmt not in READERS:
        raise ValueError(f"input.format: unknown format {fmt!r}; known: auto, {', '.join(READERS)}")
    folders = sorted((p for p in root.glob(pattern) if p.is_dir()), key=lambda p: natural_key(p.name))
    out = []
    for folder in folders:
        found = detect_format(folder) if fmt == "auto" else (fmt if DETECTORS[fmt](folder) else None)
        out.append((folder.name, folder, found or "unknown"))
    return out


def batch_slice(n_items: int, n_batches: int, batch: int) -> range:
    """Contiguous, balanced slice of ``n_items`` for batch ``batch`` (0-based) of ``n_batches``."""
    if not 0 <= batch < n_batches:
        raise ValueError(f"batch {batch} outside 0..{n_batches - 1}")
    start = (n_items * batch) // n_batches
    stop = (n_items * (batch + 1)) // n_batches
    return range(start, stop)
