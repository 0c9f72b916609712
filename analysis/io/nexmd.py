"""NEXMD reader: ``coords.xyz``, ``pes.out``, ``coeff-n.out``, ``energy-ev.out``, ``hops.out``.

Conventions (checked on the NEXMD benzene test output):

* ``coords.xyz``: Å; comment ``FINAL HEAT OF FORMATION = <kcal/mol?>  time = <fs>``.
* ``pes.out``: time [fs], E(ground), E(1..n_exc) in **eV** (absolute).
* ``coeff-n.out``: current excited state (1-based, 0 = ground), time [fs], |c_i|² for the excited states,
  their sum. The state at a time is the state after that step's hop decision.
* ``energy-ev.out``: time, T, T−T0, U, U−U0, E, E−E0 (eV; header line ``##``).
* ``hops.out``: time, type_of_hop, state_before, state_after, energies (a.u.); a hop can be listed twice
  (two types at the same time): compare distinct events.

hopscope numbers states from the ground state: NEXMD excited state k → hopscope state k + 1 (S_k);
populations get a zero ground-state column (NEXMD propagates only the excited states).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.elements import MASSES_AMU
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import is_text_file
from analysis.io.text import (blank_lines, byte_at, file_bytes, integer_column, line_offsets, parse_lines, read_bytes,
                              read_xyz_frames, without_cut_last_line)
from analysis.io.trajectory import Trajectory, cut_at_the_end, last_per_key, shared_rows

_TIME_DECIMALS = 6


def is_nexmd(folder: str | Path) -> bool:
    """True if the folder holds NEXMD's ``coords.xyz`` and ``pes.out``."""
    folder = Path(folder)
    return is_text_file(folder / "coords.xyz") and is_text_file(folder / "pes.out")


def read_columns(path: str | Path, min_fields: int, time_column: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Numeric table of a NEXMD ``.out`` file, skipping ``#`` and blank lines; one column count throughout.

    Returns the table and the 1-based file line of each row. A non-finite time is an error.
    """
    path = Path(path)
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    ids = np.flatnonzero(~blank_lines(raw, starts, ends) & (byte_at(raw, starts, ends, 0) != ord("#")))
    if ids.size == 0:
        raise TrajectoryFormatError(path, 1, f"numeric rows with at least {min_fields} columns")
    n_fields = len(raw[starts[ids[0]]:ends[ids[0]]].split())
    if n_fields < min_fields:
        raise TrajectoryFormatError(path, int(ids[0]) + 1, f"at least {min_fields} columns (found {n_fields})")
    ids = without_cut_last_line(raw, starts, ends, ids, n_fields)
    table = parse_lines(raw, starts, ends, ids, n_fields, range(n_fields), path, "a numeric row")
    if time_column is not None and not np.isfinite(table[:, time_column]).all():
        k = int(np.flatnonzero(~np.isfinite(table[:, time_column]))[0])
        raise TrajectoryFormatError(path, int(ids[k]) + 1, "a finite time")
    return table, ids + 1


def read_coords_xyz(path: str | Path) -> dict:
    """NEXMD ``coords.xyz``: symbols, time_fs, coords_angstrom; a partial last frame is dropped (flagged)."""
    path = Path(path)
    frames = read_xyz_frames(path)
    comment_lines = frames["comment_lines"]
    # comment: FINAL HEAT OF FORMATION = <value> time = <t>
    comments = parse_lines(frames["raw"], frames["starts"], frames["ends"], comment_lines, 9, (5, 8), path,
                           "a comment 'FINAL HEAT OF FORMATION = <E> time = <t>'")
    if not np.isfinite(comments[:, 1]).all():
        raise TrajectoryFormatError(path, int(comment_lines[np.flatnonzero(~np.isfinite(comments[:, 1]))[0]]) + 1, "a finite time")
    return {"symbols": frames["symbols"], "time_fs": comments[:, 1], "coords_angstrom": frames["coords_angstrom"],
            "truncated": frames["truncated"]}

def read_hops_out(path: str | Path) -> list[tuple[float, int, int]]:
    """Distinct hop events (time_fs, state_before, state_after) in NEXMD numbering (excited-state index)."""
    path = Path(path)
    raw = file_bytes(path)
    if not raw.strip():
        return []
    if all(line.startswith("#") for line in read_bytes(path).decode("ascii").splitlines() if line.strip()):
        return []
    table, lines = read_columns(path, 4)
    before = integer_column(table[:, 2], path, lines, "state_before", minimum=0)
    after = integer_column(table[:, 3], path, lines, "state_after", minimum=0)
    events = sorted({(round(float(t), _TIME_DECIMALS), int(a), int(b)) for t, a, b in zip(table[:, 0], before, after)})
    return events


def read_nexmd(folder: str | Path, trajectory_id: str | None = None) -> Trajectory:
    """Read one NEXMD trajectory folder (the one holding ``coords.xyz``, ``pes.out``, ``coeff-n.out``).

    Frames: times present in ``coords.xyz``, ``pes.out`` and ``coeff-n.out`` (last row per time wins).
    Energies in eV as printed. The active state comes from ``coeff-n.out``; ``hops.out`` is cross-checked.

    Raises
    ------
    TrajectoryFormatError
        On malformed input, naming file and line.
    """
    folder = Path(folder)
    trajectory_id = trajectory_id or folder.name
    flags: list[str] = []
    xyz = read_coords_xyz(folder / "coords.xyz")
    pes, _ = read_columns(folder / "pes.out", 3)
    coeff_path = folder / "coeff-n.out"
    if not is_text_file(coeff_path):
        raise TrajectoryFormatError(coeff_path, None, "coeff-n.out (the active state per step)")
    coeff, coeff_lines = read_columns(coeff_path, 3, time_column=1)
    if xyz["truncated"]:
        flags.append("truncated")

    common, (ix, ip, ic), n_most = shared_rows(*(np.round(t, _TIME_DECIMALS) for t in (xyz["time_fs"], pes[:, 0], coeff[:, 1])))
    if common.size == 0:
        raise TrajectoryFormatError(folder / "pes.out", None, "times shared with coords.xyz and coeff-n.out")
    if common.size < n_most:
        keys = [np.round(t, _TIME_DECIMALS) for t in (xyz["time_fs"], pes[:, 0], coeff[:, 1])]
        if not cut_at_the_end(common, *keys):
            flags.append(f"frames_not_in_all_files={n_most - common.size}")
        elif "truncated" not in flags:  # the files end at different steps: the run stopped mid-write
            flags.append("truncated")

    energies = pes[ip, 1:]
    n_states = energies.shape[1]
    state = integer_column(coeff[ic, 0], coeff_path, coeff_lines[ic], "state", minimum=0) + 1
    if state.min() < 1 or state.max() > n_states:
        raise TrajectoryFormatError(coeff_path, None, f"states 0..{n_states - 1} (pes.out has {n_states} energies)")
    n_exc = coeff.shape[1] - 3
    populations = None
    if n_exc == n_states - 1:
        populations = np.column_stack([np.zeros(common.size), coeff[ic, 2:2 + n_exc]])

    total = _total_energy(folder / "energy-ev.out", common, flags)
    _cross_check_hops(folder / "hops.out", common, state, flags)
    symbols = xyz["symbols"]
    return Trajectory(
        trajectory_id=trajectory_id, source_path=str(folder), format="nexmd", symbols=symbols,
        masses_amu=np.array([MASSES_AMU.get(s, np.nan) for s in symbols]), time_fs=common.astype(float),
        coords_angstrom=xyz["coords_angstrom"][ix], active_state=state, energies_ev=energies, total_energy_ev=total,
        potential_energy_ev=energies[np.arange(common.size), state - 1], populations=populations, flags=flags,
    )


def _total_energy(e_path: Path, common: np.ndarray, flags: list[str]) -> np.ndarray:
    """Total energy (eV) at the times ``common`` from ``energy-ev.out`` (column 6); NaN where absent (flagged)."""
    total = np.full(common.size, np.nan)
    if not is_text_file(e_path):
        flags.append("no_energy-ev.out")
        return total
    e_tab, _ = read_columns(e_path, 6)
    t_e, i_e = last_per_key(np.round(e_tab[:, 0], _TIME_DECIMALS))
    pos = np.searchsorted(t_e, common)
    found = (pos < t_e.size) & (t_e[np.minimum(pos, t_e.size - 1)] == common)
    total[found] = e_tab[i_e[pos[found]], 5]
    if not found.all():
        flags.append("total_energy_missing_for_some_frames")
    return total


def _cross_check_hops(hops_path: Path, common: np.ndarray, state: np.ndarray, flags: list[str]) -> None:
    """Flag a ``hops.out`` whose (time, from, to) list differs from the state changes of ``coeff-n.out``."""
    if not is_text_file(hops_path):
        flags.append("no_hops.out:hops_not_cross_checked")
        return
    listed = [(t, a + 1, b + 1) for t, a, b in read_hops_out(hops_path)]
    change = np.flatnonzero(state[1:] != state[:-1]) + 1
    derived = [(round(float(common[k]), _TIME_DECIMALS), int(state[k - 1]), int(state[k])) for k in change]
    if listed != derived:
        flags.append("hops.out_disagrees_with_coeff-n.out")
