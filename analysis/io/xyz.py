"""Plain multi-frame XYZ (Å), read through MDAnalysis, with an optional CSV of per-frame properties.

A trajectory folder holds one ``*.xyz`` file and optionally one ``*.csv`` with a header and one row per
frame. Recognised CSV columns (all optional):

* ``time_fs``        time of the frame (default: the frame index, flagged ``time_is_frame_index``)
* ``active_state``   1-based active state after the hop decision at that frame (default: 1)
* ``e1_ev, e2_ev..`` absolute state energies in eV (default: none; energies NaN)
* ``etot_ev``        total energy in eV (default: NaN; QC then skips the drift checks)

Without a CSV column for them, time and active state are taken from the frames' comment lines where every
frame has them: ``time=12.5`` / ``t=12.5`` / ``Time = 12.5`` / ``time_fs=12.5`` (fs) and ``state=2`` /
``active_state=2`` / ``state 2`` (1-based; a file with a state 0 is taken as 0-based, S0 = 0), as Newton-X's
``dyn.xyz``, PyRAI2MD's ``md.xyz`` and extended-XYZ writers put them (flags ``time_from_comment``,
``state_from_comment``).
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.elements import MASSES_AMU
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import glob_text, is_text_file, resolve
from analysis.io.text import element_symbols, join_ranges, read_bytes, read_xyz_frames
from analysis.io.trajectory import Trajectory, restart_survivors

_ENERGY_COL = re.compile(r"^e(\d+)_ev$")
# one match per comment line at most (the first occurrence), over all comment lines joined at once
_COMMENT_TIME = re.compile(r"^[^\n]*?(?<![\w.])(?:time_fs|time|t)[ \t]*=[ \t]*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)",
                           re.IGNORECASE | re.MULTILINE)
_COMMENT_STATE = re.compile(r"^[^\n]*?(?<![\w.])(?:active_state|state)(?:[ \t]*=[ \t]*|[ \t]+)(\d+)(?![\w.])",
                            re.IGNORECASE | re.MULTILINE)


def is_xyz(folder: str | Path) -> bool:
    """True if the folder holds exactly one ``*.xyz`` file."""
    return len(glob_text(folder, "*.xyz")) == 1


def is_xyz_file(path: str | Path) -> bool:
    """True if ``path`` names one multi-frame XYZ file (stored plain or compressed) rather than a folder: a
    trajectory of an ensemble kept as one file per trajectory."""
    path = Path(path)
    return path.name.endswith(".xyz") and not path.is_dir() and resolve(path) is not None


def properties_csv(xyz_path: str | Path) -> Path:
    """The per-frame properties CSV that belongs to a loose XYZ file: ``<stem>.csv`` beside it."""
    return Path(xyz_path).with_suffix(".csv")


def check_xyz_layout(path: str | Path) -> int:
    """Validate the frame structure (atom-count lines, line counts, atom lines); return the number of frames.

    MDAnalysis' reader reports malformed files without a line number; this check names the line.
    """
    return xyz_comments(path)[0]


def xyz_comments(path: str | Path) -> tuple[int, str, np.ndarray]:
    """(number of frames, their comment lines joined by newlines, which frames hold a non-finite coordinate: NaN,
    or a Fortran overflow ``*****`` that MDAnalysis reads as garbage numbers), after validating the frame
    structure as :func:`check_xyz_layout`."""
    frames = read_xyz_frames(path, allow_partial_last=False, extra_columns=True)
    lines = frames["comment_lines"]
    comments = join_ranges(frames["raw"], frames["starts"][lines], frames["ends"][lines]).decode("utf-8", "replace")
    return len(lines), comments, ~np.isfinite(frames["coords_angstrom"]).all(axis=(1, 2))


def comment_properties(comments: str, n_frames: int) -> dict[str, np.ndarray]:
    """``time_fs`` and ``active_state`` (1-based) from the frames' comment lines (``comments``: one per line), each
    only where every frame has it: see the module docstring for the forms read."""
    out: dict[str, np.ndarray] = {}
    times = _COMMENT_TIME.findall(comments)
    if n_frames and len(times) == n_frames:
        time_fs = np.array(times, dtype=float)
        if np.isfinite(time_fs).all():
            out["time_fs"] = time_fs
    states = _COMMENT_STATE.findall(comments)
    if n_frames and len(states) == n_frames:
        state = np.array(states, dtype=np.int64)
        out["active_state"] = state + 1 if state.min() == 0 else state
    return out


def read_xyz(folder: str | Path, trajectory_id: str | None = None) -> Trajectory:
    """Read a folder with one multi-frame XYZ (through MDAnalysis) and an optional CSV of properties, or one
    loose XYZ file (``folder`` names it) with an optional ``<stem>.csv`` beside it.

    Raises
    ------
    TrajectoryFormatError
        On malformed input, naming file and line.
    """
    import MDAnalysis as mda

    folder = Path(folder)
    single = is_xyz_file(folder)
    trajectory_id = trajectory_id or (folder.stem if single else folder.name)
    xyz_files = [folder] if single else glob_text(folder, "*.xyz")
    if len(xyz_files) != 1:
        raise TrajectoryFormatError(folder, None, f"exactly one *.xyz file (found {len(xyz_files)})")
    path = xyz_files[0]
    n_frames, comments, non_finite = xyz_comments(path)
    flags: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MDAnalysis warns about guessed masses/types
        with _xyz_source(path) as source:
            universe = mda.Universe(source, format="XYZ")
            coords = universe.trajectory.timeseries(order="fac").astype(float)
    symbols = element_symbols(list(universe.atoms.names), path, range(3, 3 + len(universe.atoms)))
    if coords.shape[0] != n_frames:
        raise TrajectoryFormatError(path, None, f"{n_frames} frames (MDAnalysis read {coords.shape[0]})")
    coords[non_finite] = np.nan  # QC truncates the run before the first such frame

    csv_files = ([properties_csv(folder)] if is_text_file(properties_csv(folder)) else []) if single else glob_text(folder, "*.csv")
    time_fs, active, energies, total, csv_path = _properties(csv_files, n_frames, flags, comment_properties(comments, n_frames))
    written = not np.isnan(energies).all()
    if active.min() < 1 or (written and active.max() > energies.shape[1]):
        raise TrajectoryFormatError(csv_path, None, f"active_state in 1..{energies.shape[1]}")
    if active.max() > energies.shape[1]:  # states without energies: NaN columns
        energies = np.column_stack([energies, np.full((n_frames, active.max() - energies.shape[1]), np.nan)])
    keep = restart_survivors(time_fs) if (np.diff(time_fs) < 0).any() else np.ones(n_frames, bool)
    if not keep.all():  # a restarted run written on (its time goes back): the frames its restart superseded go
        flags.append(f"restarted:{int((~keep).sum())}_frames_superseded")
        coords, time_fs, active, energies, total = (a[keep] for a in (coords, time_fs, active, energies, total))
        n_frames = len(time_fs)
    return Trajectory(
        trajectory_id=trajectory_id, source_path=str(folder), format="xyz", symbols=symbols,
        masses_amu=np.array([MASSES_AMU.get(s, np.nan) for s in symbols]), time_fs=time_fs, coords_angstrom=coords,
        active_state=active, energies_ev=energies, total_energy_ev=total,
        potential_energy_ev=energies[np.arange(n_frames), active - 1], flags=flags,
    )


@contextmanager
def _xyz_source(path: Path):
    """The file name MDAnalysis reads: the file as stored (MDAnalysis opens .gz/.bz2 itself), or, for .xz, a
    temporary plain copy, removed afterwards."""
    stored = resolve(path)
    if stored.suffix != ".xz":
        yield str(stored)
        return
    with tempfile.TemporaryDirectory(prefix="hopscope-xyz-") as tmp:
        plain = Path(tmp) / path.name
        plain.write_bytes(read_bytes(path))
        yield str(plain)


def _properties(csv_files: list[Path], n_frames: int, flags: list[str], from_comments: dict | None = None):
    """(time_fs, active_state, energies_ev, etot_ev, the CSV's path or None) from the first of ``csv_files``;
    for the columns it lacks (or without one): ``from_comments`` (:func:`comment_properties`, flagged), else the
    frame index as time (flagged), state 1, NaN energies."""
    from_comments = from_comments or {}
    time_fs, active = np.arange(n_frames, dtype=float), np.ones(n_frames, dtype=np.int64)
    energies, total = np.full((n_frames, 1), np.nan), np.full(n_frames, np.nan)
    table = _read_properties(csv_files[0], n_frames) if csv_files else pd.DataFrame()
    if "time_fs" in table:
        time_fs = table["time_fs"].to_numpy(float)
    elif "time_fs" in from_comments:
        time_fs = from_comments["time_fs"]
        flags.append("time_from_comment")
    else:
        flags.append("time_is_frame_index")
    if "active_state" in table:
        active = table["active_state"].to_numpy(np.int64)
    elif "active_state" in from_comments:
        active = from_comments["active_state"]
        flags.append("state_from_comment")
    if not csv_files:
        return time_fs, active, energies, total, None
    e_cols = sorted((int(m.group(1)), c) for c in table.columns if (m := _ENERGY_COL.match(c)))
    if e_cols:
        if [k for k, _ in e_cols] != list(range(1, len(e_cols) + 1)):
            raise TrajectoryFormatError(csv_files[0], 1, "energy columns e1_ev, e2_ev, ... without gaps")
        energies = table[[c for _, c in e_cols]].to_numpy(float)
    if "etot_ev" in table:
        total = table["etot_ev"].to_numpy(float)
    return time_fs, active, energies, total, csv_files[0]


def _read_properties(path: Path, n_frames: int) -> pd.DataFrame:
    raw = read_bytes(path)  # empty / binary checks with a line number
    try:
        table = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.ParserError, ValueError) as exc:
        raise TrajectoryFormatError(path, None, f"a CSV with a header row ({exc})") from None
    if len(table) != n_frames:
        raise TrajectoryFormatError(path, len(table) + 1, f"{n_frames} rows, one per XYZ frame (found {len(table)})")
    for col in table.columns:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() & table[col].notna()
        if bad.any():
            raise TrajectoryFormatError(path, int(np.flatnonzero(bad)[0]) + 2, f"a number in column {col!r}")
        table[col] = values
    return table
