"""PyRAI2MD reader: ``<title>.md.xyz``, ``<title>.md.energies``, ``<title>.sh.energies``.

Conventions (FORMATS.md, checked against PyRAI2MD's ``aimd.py``):

* ``md.energies``: time in **a.u.** = iteration × dt, then Epot (active state), Ekin, Etot, E_1..E_n, all
  hartree. Iteration 1 is the *initial* geometry (the Verlet update is skipped at iteration 1; ``md.xyz``
  coord 1 equals ``<title>.xyz``), so frame k lies at t = (k − 1)·dt. hopscope's ``time_fs`` starts at 0.
* ``md.xyz``: Å, comment ``<title> coord <k> state <s>`` — ``s`` is the state the step ran on (pre-hop);
  a hop adds ``to <s'> CI`` to the comment of the frame where it was decided.
* ``sh.energies``: one row per hop (can be header-only).

hopscope's ``active_state`` is the state after the hop decision at each frame (as Newton-X's en.dat).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from analysis.elements import MASSES_AMU
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import glob_text, is_text_file
from analysis.io.text import blank_lines, file_bytes, line_offsets, parse_lines, read_bytes, read_xyz_frames, without_cut_last_line
from analysis.io.trajectory import Trajectory, cut_at_the_end, shared_rows
from analysis.units import AU_TIME_TO_FS, HARTREE_TO_EV

_COMMENT_RE = re.compile(r"coord\s+(\d+)\s+state\s+(\d+)(?:\s+to\s+(\d+))?")


def _title(folder: Path) -> str | None:
    found = glob_text(folder, "*.md.energies")
    return found[0].name[: -len(".md.energies")] if found else None


def is_pyrai2md(folder: str | Path) -> bool:
    """True if the folder holds ``<title>.md.energies`` and ``<title>.md.xyz``."""
    folder = Path(folder)
    title = _title(folder)
    return title is not None and is_text_file(folder / f"{title}.md.xyz")


def read_energies(path: str | Path, allow_empty: bool = False) -> np.ndarray:
    """Rows of an ``md.energies``/``sh.energies`` file: time (a.u.), Epot, Ekin, Etot, E_1..E_n (hartree)."""
    path = Path(path)
    if allow_empty and not file_bytes(path).strip():
        return np.empty((0, 5))
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    ids = np.flatnonzero(~blank_lines(raw, starts, ends))
    if ids.size and b"time" in raw[starts[ids[0]]:ends[ids[0]]]:
        ids = ids[1:]  # header line
    if ids.size == 0:
        if allow_empty:
            return np.empty((0, 5))
        raise TrajectoryFormatError(path, 2, "rows 'time Epot Ekin Etot E1 ... En'")
    n_fields = len(raw[starts[ids[0]]:ends[ids[0]]].split())
    if n_fields < 5:
        raise TrajectoryFormatError(path, int(ids[0]) + 1, f"at least 5 columns 'time Epot Ekin Etot E1..' (found {n_fields})")
    ids = without_cut_last_line(raw, starts, ends, ids, n_fields)
    table = parse_lines(raw, starts, ends, ids, n_fields, range(n_fields), path, "an energy row")
    if not np.isfinite(table[:, 0]).all():
        raise TrajectoryFormatError(path, int(ids[np.flatnonzero(~np.isfinite(table[:, 0]))[0]]) + 1, "a finite time")
    return table


def read_md_xyz(path: str | Path) -> dict:
    """Multi-frame ``md.xyz``: symbols, coords (Å), step and pre-hop state per frame, hop target or 0."""
    path = Path(path)
    frames = read_xyz_frames(path)
    raw, starts, ends, comment_lines = frames["raw"], frames["starts"], frames["ends"], frames["comment_lines"]
    comments = b"\n".join(raw[starts[i]:ends[i]] for i in comment_lines).decode("ascii").splitlines()
    parsed = [_COMMENT_RE.search(c) for c in comments]
    if not all(parsed):
        bad = next(i for i, m in enumerate(parsed) if not m)
        raise TrajectoryFormatError(path, int(comment_lines[bad]) + 1, "a comment '<title> coord <step> state <s> [to <s'> CI]'")
    info = np.array([[int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)] for m in parsed], dtype=np.int64)
    return {"symbols": frames["symbols"], "coords_angstrom": frames["coords_angstrom"], "step": info[:, 0],
            "state": info[:, 1], "hop_to": info[:, 2], "truncated": frames["truncated"]}

def read_pyrai2md(folder: str | Path, trajectory_id: str | None = None) -> Trajectory:
    """Read one PyRAI2MD trajectory folder.

    Frames are the rows of ``md.energies`` matched to ``md.xyz`` by step (iteration); energies in hartree
    → eV; time (k − 1)·dt in fs. The post-hop active state is the pre-hop state of the next frame, and the
    hop target for frames whose comment says ``to <s'> CI``. ``sh.energies`` is cross-checked (flag on
    disagreement).

    Raises
    ------
    TrajectoryFormatError
        On malformed input, naming file and line.
    """
    folder = Path(folder)
    trajectory_id = trajectory_id or folder.name
    title = _title(folder)
    if title is None:
        raise TrajectoryFormatError(folder / "*.md.energies", None, "a PyRAI2MD <title>.md.energies file")
    flags: list[str] = []
    en_path = folder / f"{title}.md.energies"
    energies = read_energies(en_path)
    xyz = read_md_xyz(folder / f"{title}.md.xyz")
    if xyz["truncated"]:
        flags.append("truncated")

    time_au = energies[:, 0]
    dt_au = _time_step_au(time_au)
    step_from_time = np.rint(time_au / dt_au).astype(np.int64)
    if not np.allclose(step_from_time * dt_au, time_au, atol=0.02):
        bad = int(np.flatnonzero(~np.isclose(step_from_time * dt_au, time_au, atol=0.02))[0])
        raise TrajectoryFormatError(en_path, bad + 2, f"times on a grid of dt = {dt_au} a.u.")
    common, (ie, ix), n_most = shared_rows(step_from_time, xyz["step"])  # by step; restarts: the last row wins
    if common.size == 0:
        raise TrajectoryFormatError(en_path, None, "steps shared with md.xyz")
    if common.size < n_most:
        if not cut_at_the_end(common, step_from_time, xyz["step"]):
            flags.append(f"md.energies_md.xyz_step_mismatch={n_most - common.size}")
        elif "truncated" not in flags:  # one file ends a step or more later: the run stopped mid-write
            flags.append("truncated")

    e_states = energies[ie, 4:]
    epot = energies[ie, 1]
    pre_state = xyz["state"][ix]
    # cross-check: Epot is the energy of the state the step ran on
    nearest = 1 + np.argmin(np.abs(e_states - epot[:, None]), axis=1)
    if not np.array_equal(nearest, pre_state):
        flags.append("md.xyz_state_vs_md.energies_epot_mismatch")
    hop_to = xyz["hop_to"][ix]
    post_state = np.where(hop_to > 0, hop_to, pre_state)
    post_state[:-1] = np.where(hop_to[:-1] > 0, hop_to[:-1], pre_state[1:])

    _cross_check_hops(folder / f"{title}.sh.energies", common[hop_to > 0], dt_au, flags)
    symbols = xyz["symbols"]
    return Trajectory(
        trajectory_id=trajectory_id, source_path=str(folder), format="pyrai2md", symbols=symbols,
        masses_amu=np.array([MASSES_AMU.get(s, np.nan) for s in symbols]), time_fs=(common - 1) * dt_au * AU_TIME_TO_FS,
        coords_angstrom=xyz["coords_angstrom"][ix], active_state=post_state.astype(np.int64),
        energies_ev=e_states * HARTREE_TO_EV, total_energy_ev=energies[ie, 3] * HARTREE_TO_EV,
        potential_energy_ev=epot * HARTREE_TO_EV, extra={"step_state": pre_state.astype(np.int64)}, flags=flags,
    )


def _time_step_au(time_au: np.ndarray) -> float:
    """The step (a.u.) of which the times are multiples: the median difference, refined by least squares over all
    rows. Times printed to 0.01 a.u. (20.67, 41.34, …, 785.49 for 0.5 fs = 20.6707 a.u.) drift from multiples of
    any one printed difference by 0.03 a.u. within 40 steps; the fitted step keeps each within its rounding."""
    if len(time_au) < 2:
        return float(time_au[0])
    dt_au = float(np.median(np.diff(time_au)))
    if dt_au <= 0:
        return dt_au
    steps = np.rint(time_au / dt_au)
    return float(steps @ time_au / (steps @ steps)) if (steps > 0).any() else dt_au


def _cross_check_hops(sh_path: Path, hop_steps: np.ndarray, dt_au: float, flags: list[str]) -> None:
    """Flag an ``sh.energies`` whose hop steps differ from the hops the ``md.xyz`` comments name."""
    if not is_text_file(sh_path):
        flags.append("no_sh.energies:hops_not_cross_checked")
        return
    sh = read_energies(sh_path, allow_empty=True)
    sh_steps = np.rint(sh[:, 0] / dt_au).astype(np.int64) if len(sh) else np.empty(0, dtype=np.int64)
    if not np.array_equal(np.sort(sh_steps), hop_steps):
        flags.append("sh.energies_disagrees_with_md.xyz_hops")
