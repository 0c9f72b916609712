"""Newton-X classic reader: ``RESULTS/dyn.out`` (or ``dyn.xyz``), ``en.dat`` (optional beside ``dyn.out``), ``typeofdyn.log``.

Conventions (see ../shared/FORMATS.md):

* ``dyn.out`` geometry is in bohr, energies in hartree; ``dyn.xyz`` is in Å.
* Runs can be restarted: STEP resets while TIME continues, and a crash can leave a truncated block
  (geometry, then directly the next STEP). Frames are keyed by TIME; the last *complete* block wins.
* The state in a ``dyn.out`` STEP header is the state *before* the hop decided at that time;
  ``en.dat`` and ``typeofdyn.log`` give the state *after* it. hopscope stores the post-hop state.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from analysis.elements import MASSES_AMU
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import is_text_file
from analysis.io.text import (blank_lines, byte_at, element_symbols, file_bytes, fortran_float, join_ranges, line_heads, line_offsets, lines_starting_with,
                              parse_lines, parse_table, read_bytes, read_xyz_frames, without_cut_last_line)
from analysis.io.tokenize import parse_fields
from analysis.io.trajectory import Trajectory
from analysis.units import BOHR_TO_ANGSTROM, HARTREE_TO_EV

_DYN_XYZ_TIME_RE = re.compile(r"^[^\n]*?Time\s*=\s*(\S+)", re.MULTILINE)
# on bytes: per 1,001-line file 0.49 ms where the same pattern on the decoded text took 0.71 ms, and converting the
# matches to floats 0.53 against 0.66 ms (read_typeofdyn 1.64 against 1.78 ms); ``.`` never matches a newline, so
# ``[^\n]`` is the same
_TYPEOFDYN_RE = re.compile(rb"Time =\s*([-\d.]+)[^\n]*?PES =\s*(\d+)")
_TIME_DECIMALS = 6


def results_dir(folder: str | Path) -> Path:
    """``folder/RESULTS`` if it exists, else ``folder`` itself."""
    folder = Path(folder)
    return folder / "RESULTS" if (folder / "RESULTS").is_dir() else folder


def is_newtonx(folder: str | Path) -> bool:
    """True if the folder looks like a Newton-X classic trajectory: ``en.dat`` with ``dyn.out`` or ``dyn.xyz``, or
    ``dyn.out`` alone (its energy lines hold what ``en.dat`` lists)."""
    res = results_dir(folder)
    return is_text_file(res / "dyn.out") or (is_text_file(res / "en.dat") and is_text_file(res / "dyn.xyz"))


def read_dyn_out(path: str | Path) -> dict:
    """Parse ``dyn.out`` into complete frames keyed by time.

    A vectorized reader handles well-formed files (lines classified with NumPy, numbers parsed in bulk by
    pandas' C parser); anything it cannot account for is re-read by the line-exact regex reader, which
    either returns the same frames or raises :class:`TrajectoryFormatError` naming file and line.

    Returns
    -------
    dict with symbols, masses_amu, time_fs (n,), coords_angstrom (n, natom, 3), header_state (n,)
    (pre-hop), energies_hartree (n, nstat), total_energy_hartree (n,), populations (n, nstat) or None,
    truncated (bool: the last block was incomplete), dropped_times (incomplete blocks, not the last,
    whose time has no complete block).
    """
    path = Path(path)
    raw = read_bytes(path)
    try:
        return _read_dyn_out_fast(path, raw)
    except (_Irregular, ValueError):  # includes parse_table's irregularities; the exact reader says where
        return _read_dyn_out_exact(path, raw.decode("ascii"))


class _Irregular(Exception):
    """The fast reader met something it does not handle; the exact reader takes over."""


def _numbers(raw: bytes, starts, ends, n_fields: int, usecols) -> np.ndarray:
    """Decimal fields of whole lines: compiled tokenizer, else pandas; ValueError on any irregular line."""
    parsed = parse_fields(raw, starts, ends, n_fields, usecols)
    if parsed is None:
        return parse_table(join_ranges(raw, starts, ends), n_fields, usecols)
    values, bad = parsed
    if bad >= 0:
        raise ValueError(f"irregular line {bad}")
    return values


def _select_blocks(times: np.ndarray, complete: np.ndarray) -> tuple[np.ndarray, int]:
    """Indices of the last complete block for each time, ordered by time; and the number of times
    (other than the final, truncated one) that have no complete block at all."""
    t_key = np.round(times, _TIME_DECIMALS)
    cand = np.flatnonzero(complete)
    rev = cand[::-1]
    _, first_in_rev = np.unique(t_key[rev], return_index=True)
    keep = np.sort(rev[first_in_rev])
    keep = keep[np.argsort(t_key[keep], kind="stable")]
    lost = np.setdiff1d(np.unique(t_key[~complete]), t_key[keep])
    lost = lost[lost != t_key[-1]] if not complete[-1] else lost
    return keep, int(lost.size)


def _read_dyn_out_fast(path: Path, raw: bytes) -> dict:
    """Vectorized ``dyn.out`` reader: every line classified with NumPy, the kept blocks' numbers parsed in bulk.

    Raises :class:`_Irregular` on anything it does not expect (the exact reader then names the line). It is one
    function of ~90 lines on purpose: each step uses the line classes, block boundaries and counts of the steps
    before it, so helpers would pass a dozen arrays back and forth, and this is the ingest's hot path.
    """
    starts, ends = line_offsets(raw)
    b0, b1, b2 = (byte_at(raw, starts, ends, k) for k in range(3))
    is_step = lines_starting_with(raw, starts, ends, b0 == ord("S"), (b"STEP ",))
    is_energy = b0 == ord("%")
    is_geom = lines_starting_with(raw, starts, ends, (b0 == 32) & ((b2 == ord("N")) | (b2 == ord("I"))),
                                  (b"  New geometry:", b"  Initial geometry:"))
    is_wf = lines_starting_with(raw, starts, ends, (b0 == 32) & (b1 == ord("W")), (b" Wave function state",))
    step_lines = np.flatnonzero(is_step)
    if step_lines.size == 0:
        raise _Irregular
    if (is_geom | is_energy | is_wf)[: step_lines[0]].any():
        raise _Irregular
    n_lines = len(starts)
    n_blocks = step_lines.size
    line_block = np.cumsum(is_step) - 1
    # symbols, masses and the atom count from the first block, read exactly
    first_end = int(starts[step_lines[1]]) if n_blocks > 1 else len(raw)
    first = _read_dyn_out_exact(path, raw[:first_end].decode("ascii"))
    natom = len(first["symbols"])

    header_text = join_ranges(raw, starts[step_lines], ends[step_lines])
    # every header must read 'STEP <n> Molecular dynamics on state <s> TIME = <t> fs': without digits,
    # signs, dots and blanks it is one fixed word string; the numbers are then parsed in bulk
    if header_text.translate(None, b"0123456789+-. \t\r") != _STEP_WORDS * n_blocks:
        raise _Irregular
    header = _numbers(raw, starts[step_lines], ends[step_lines], 11, (1, 6, 9))  # ValueError -> exact reader
    header_state, times = header[:, 1].astype(np.int64), header[:, 2]

    geom_lines = np.flatnonzero(is_geom)
    atom_ids = geom_lines[:, None] + 1 + np.arange(natom)[None, :]
    inside = atom_ids[:, -1] < n_lines
    atom_ids = np.where(inside[:, None], atom_ids, 0)
    special = is_step | is_energy | is_geom | is_wf
    after = np.minimum(geom_lines + 1 + natom, n_lines - 1)
    after_heads = line_heads(raw, starts[after], ends[after], 24)
    after_blank = ((after_heads == 32) | (after_heads == 0) | (after_heads == 9) | (after_heads == 13)).all(axis=1) & (ends[after] - starts[after] <= 24)
    after_ok = (geom_lines + 1 + natom >= n_lines) | special[after] | after_blank
    geom_ok = (inside & (line_block[atom_ids] == line_block[geom_lines][:, None]).all(axis=1)
               & ~special[atom_ids].any(axis=1) & after_ok)
    n_geom = np.bincount(line_block[geom_lines], minlength=n_blocks)
    n_geom_ok = np.bincount(line_block[geom_lines[geom_ok]], minlength=n_blocks)
    n_energy = np.bincount(line_block[is_energy], minlength=n_blocks)
    complete = (n_geom == 1) & (n_geom_ok == 1) & (n_energy == 1)
    if not complete.any():
        raise _Irregular
    keep, dropped = _select_blocks(times, complete)

    geom_of_block = np.full(n_blocks, -1)
    geom_of_block[line_block[geom_lines]] = np.arange(geom_lines.size)
    ids = atom_ids[geom_of_block[keep]]  # contiguous lines per block: one byte range each
    flat = ids.ravel()
    xyz = _numbers(raw, starts[flat], ends[flat], 6, (2, 3, 4)).reshape(-1, natom, 3)

    energy_lines = np.flatnonzero(is_energy)
    energy_of_block = np.full(n_blocks, -1)
    energy_of_block[line_block[energy_lines]] = energy_lines
    e_ids = energy_of_block[keep]
    n_cols = len(raw[starts[e_ids[0]] + 1: ends[e_ids[0]]].split())
    if n_cols < 4:
        raise _Irregular
    energy = _numbers(raw, starts[e_ids] + 1, ends[e_ids], n_cols, tuple(range(n_cols)))
    nstat = n_cols - 3

    populations = None
    wf_lines = np.flatnonzero(is_wf)
    n_wf = np.bincount(line_block[wf_lines], minlength=n_blocks)
    if np.all(n_wf[keep] == nstat):
        keep_rank = np.full(n_blocks, -1)
        keep_rank[keep] = np.arange(keep.size)
        wf_sel = wf_lines[keep_rank[line_block[wf_lines]] >= 0]
        wf = _numbers(raw, starts[wf_sel], ends[wf_sel], 6, (4, 5))
        wf = wf.reshape(-1, nstat, 2)
        order = np.argsort(keep_rank[line_block[wf_sel]].reshape(-1, nstat)[:, 0], kind="stable")
        populations = (wf[order] ** 2).sum(axis=2)

    return {
        "symbols": first["symbols"],
        "masses_amu": first["masses_amu"],
        "time_fs": times[keep],
        "coords_angstrom": xyz * BOHR_TO_ANGSTROM,
        "header_state": header_state[keep],
        "energies_hartree": energy[:, 3:],
        "total_energy_hartree": energy[:, 1],
        "active_energy_hartree": energy[:, 1] - energy[:, 2],
        "populations": populations,
        "truncated": bool(not complete[-1]),
        "dropped_times": dropped,
    }


_GEOM_HEADERS = ("  New geometry:", "  Initial geometry:")
_WF_PREFIX = " Wave function state"
_STEP_RE = re.compile(r"STEP\s+(\S+)\s+Molecular\s+dynamics\s+on\s+state\s+(\S+)\s+TIME\s+=\s+(\S+)\s+fs\s*$")
_STEP_WORDS = b"STEPMoleculardynamicsonstateTIME=fs\n"


def _line_kind(line: str) -> str:
    if line.startswith("STEP "):
        return "step"
    if line.startswith("%"):
        return "energy"
    if line.startswith(_GEOM_HEADERS):
        return "geom"
    if line.startswith(_WF_PREFIX):
        return "wf"
    return ""


def _number(text: str, path: Path, line_no: int, what: str) -> float:
    try:
        return fortran_float(text)
    except ValueError:
        raise TrajectoryFormatError(path, line_no, f"a number in {what}, got {text!r}") from None


def _fields(line: str, n: int, path: Path, line_no: int, what: str) -> list[str]:
    fields = line.split()
    if len(fields) != n:
        raise TrajectoryFormatError(path, line_no, f"{what} with {n} fields (found {len(fields)})")
    return fields


def _read_dyn_out_exact(path: Path, text: str) -> dict:
    """Line-by-line reader of ``dyn.out`` with the fast reader's rules; names file and line of any error.

    Rules: a block runs from one ``STEP`` line to the next. It is complete if it has exactly one
    geometry header followed (inside the block) by ``natom`` atom lines and then a blank or header line,
    and exactly one ``%`` energy line. ``natom`` is the number of lines after the first geometry header
    up to the first blank or header line. Only the kept blocks (last complete block per TIME) are parsed.
    Long (~85 lines) so that it reads as one list of the rules the fast reader implements, in the same order.
    """
    lines = text.splitlines()
    kinds = [_line_kind(line) for line in lines]
    step_at = [i for i, k in enumerate(kinds) if k == "step"]
    if not step_at:
        raise TrajectoryFormatError(path, 1, "'STEP ... Molecular dynamics on state ... TIME = ... fs' blocks")
    early = next((i for i in range(step_at[0]) if kinds[i]), None)
    if early is not None:
        raise TrajectoryFormatError(path, early + 1, "a STEP header before the first geometry/energy line")
    bounds = step_at + [len(lines)]
    first_geom = next((i for i in range(step_at[0], bounds[1]) if kinds[i] == "geom"), None)
    if first_geom is None:
        raise TrajectoryFormatError(path, step_at[0] + 1, "a geometry header after the first STEP line")
    natom = 0
    while first_geom + 1 + natom < bounds[1] and lines[first_geom + 1 + natom].strip() and not kinds[first_geom + 1 + natom]:
        natom += 1
    if natom == 0:
        raise TrajectoryFormatError(path, first_geom + 2, "atom lines 'Sym Z x y z mass' after the first geometry header")

    times, states, complete, geom_of, energy_of, wf_of = [], [], [], [], [], []
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        m = _STEP_RE.match(lines[lo])
        if not m:
            raise TrajectoryFormatError(path, lo + 1, "'STEP n Molecular dynamics on state s TIME = t fs'")
        states.append(_number(m.group(2), path, lo + 1, "a STEP header state"))
        times.append(_number(m.group(3), path, lo + 1, "a STEP header TIME"))
        _number(m.group(1), path, lo + 1, "a STEP number")
        geoms = [i for i in range(lo, hi) if kinds[i] == "geom"]
        energies = [i for i in range(lo, hi) if kinds[i] == "energy"]
        wfs = [i for i in range(lo, hi) if kinds[i] == "wf"]
        ok = len(geoms) == 1 and len(energies) == 1
        if ok:
            g = geoms[0]
            rows = range(g + 1, g + 1 + natom)
            after = g + 1 + natom
            ok = (rows[-1] < hi and not any(kinds[i] for i in rows)
                  and (after >= len(lines) or kinds[after] != "" or not lines[after].strip()))
        complete.append(ok)
        geom_of.append(geoms[0] if geoms else -1)
        energy_of.append(energies[0] if energies else -1)
        wf_of.append(wfs)
    complete_arr = np.array(complete)
    if not complete_arr.any():
        raise TrajectoryFormatError(path, None, "at least one complete STEP block (geometry and energy line)")
    times_arr = np.array(times)
    keep, dropped = _select_blocks(times_arr, complete_arr)

    xyz, energy = [], []
    for b in keep:
        g = geom_of[b]
        for i in range(g + 1, g + 1 + natom):
            f = _fields(lines[i], 6, path, i + 1, "an atom line 'Sym Z x y z mass'")
            xyz.append([_number(v, path, i + 1, "a geometry line") for v in f[2:5]])
    e0 = energy_of[keep[0]]
    n_cols = len(lines[e0][1:].split())
    if n_cols < 4:
        raise TrajectoryFormatError(path, e0 + 1, "an energy line '% time Etot Ekin E1 ... En'")
    for b in keep:
        i = energy_of[b]
        f = _fields(lines[i][1:], n_cols, path, i + 1, "an energy line '% time Etot Ekin E1 ... En'")
        energy.append([_number(v, path, i + 1, "an energy line") for v in f])
    energy_arr = np.array(energy, dtype=float)
    nstat = n_cols - 3
    populations = None
    if all(len(wf_of[b]) == nstat for b in keep):
        wf = []
        for b in keep:
            for i in wf_of[b]:
                f = _fields(lines[i], 6, path, i + 1, "a wave function line 'Wave function state i: Re Im'")
                wf.append([_number(v, path, i + 1, "a wave function line") for v in f[4:6]])
        populations = (np.array(wf, dtype=float).reshape(-1, nstat, 2) ** 2).sum(axis=2)
    g0 = geom_of[0] if complete[0] else first_geom
    first_rows = [_fields(lines[i], 6, path, i + 1, "an atom line 'Sym Z x y z mass'") for i in range(g0 + 1, g0 + 1 + natom)]
    return {
        "symbols": element_symbols([f[0] for f in first_rows], path, range(g0 + 2, g0 + 2 + natom)),
        "masses_amu": np.array([_number(f[5], path, g0 + 2 + k, "an atom mass") for k, f in enumerate(first_rows)]),
        "time_fs": times_arr[keep],
        "coords_angstrom": np.array(xyz, dtype=float).reshape(-1, natom, 3) * BOHR_TO_ANGSTROM,
        "header_state": np.array(states, dtype=float)[keep].astype(np.int64),
        "energies_hartree": energy_arr[:, 3:],
        "total_energy_hartree": energy_arr[:, 1],
        "active_energy_hartree": energy_arr[:, 1] - energy_arr[:, 2],
        "populations": populations,
        "truncated": bool(not complete_arr[-1]),
        "dropped_times": dropped,
    }


def read_en_dat(path: str | Path) -> dict:
    """Parse ``en.dat``: time (fs), E_1..E_n, E_active, E_total (hartree).

    Returns dict with time_fs, energies_hartree (n, nstat), active_energy_hartree, total_energy_hartree.
    """
    path = Path(path)
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    ids = np.flatnonzero(~blank_lines(raw, starts, ends))
    ncols = len(raw[starts[ids[0]]:ends[ids[0]]].split())
    if ncols < 4:
        raise TrajectoryFormatError(path, int(ids[0]) + 1, f"at least 4 columns 'time E1..En E_active E_total' (found {ncols})")
    ids = without_cut_last_line(raw, starts, ends, ids, ncols)
    data = parse_lines(raw, starts, ends, ids, ncols, range(ncols), path, "an en.dat row 'time E1..En E_active E_total'")
    return {
        "time_fs": data[:, 0],
        "energies_hartree": data[:, 1:-2],
        "active_energy_hartree": data[:, -2],
        "total_energy_hartree": data[:, -1],
    }


def read_typeofdyn(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``typeofdyn.log`` with the regex from FORMATS.md: (time_fs, post-hop PES)."""
    path = Path(path)
    raw = read_bytes(path)
    found = _TYPEOFDYN_RE.findall(raw)
    if not found:
        raise TrajectoryFormatError(path, 1, "lines 'Time = t ... PES = k ...'")
    try:
        arr = np.array(found, dtype=float)
    except ValueError:  # a time such as '1.2.3' or '-': name its line
        bad = next(m for m in _TYPEOFDYN_RE.finditer(raw) if not _is_float(m.group(1).decode()))
        raise TrajectoryFormatError(path, raw.count(b"\n", 0, bad.start()) + 1,
                                    f"a number after 'Time =', got {bad.group(1).decode()!r}") from None
    return arr[:, 0], arr[:, 1].astype(int)


def read_dyn_xyz(path: str | Path) -> dict:
    """Parse Newton-X ``dyn.xyz`` (Å; comment line ``Time = t``). One frame per time (last wins)."""
    path = Path(path)
    frames = read_xyz_frames(path)
    raw, starts, ends, comment_lines = frames["raw"], frames["starts"], frames["ends"], frames["comment_lines"]
    times = _DYN_XYZ_TIME_RE.findall(join_ranges(raw, starts[comment_lines], ends[comment_lines]).decode("ascii"))
    if len(times) != len(comment_lines):  # name the first comment without 'Time = t'
        bad = next(i for i in comment_lines if not _DYN_XYZ_TIME_RE.search(raw[starts[i]:ends[i]].decode("ascii")))
        raise TrajectoryFormatError(path, int(bad) + 1, "a comment line 'Time = t'")
    try:
        t = np.array(times, dtype=float)
    except ValueError:
        bad = next(k for k, v in enumerate(times) if not _is_float(v))
        raise TrajectoryFormatError(path, int(comment_lines[bad]) + 1, f"a number after 'Time =', got {times[bad]!r}") from None
    t_key = np.round(t, _TIME_DECIMALS)
    _, last = np.unique(t_key[::-1], return_index=True)
    keep = np.sort(len(t) - 1 - last)
    return {"symbols": frames["symbols"], "time_fs": t[keep], "coords_angstrom": frames["coords_angstrom"][keep],
            "truncated": frames["truncated"]}


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

def read_newtonx(folder: str | Path, trajectory_id: str | None = None) -> Trajectory:
    """Read one Newton-X classic trajectory folder (``TRAJn`` or its ``RESULTS``).

    Geometry from ``dyn.out`` (bohr → Å) or, if absent, ``dyn.xyz`` (Å). Energies from ``dyn.out``
    energy lines (hartree → eV), else ``en.dat``. The post-hop active state comes from
    ``typeofdyn.log`` if present, else from ``en.dat`` (argmin |E_i − E_active|); without ``en.dat``, ``dyn.out``
    stands in for it (flagged ``no_en.dat``).

    Raises
    ------
    TrajectoryFormatError
        On malformed input, naming file and line.
    """
    folder = Path(folder)
    res = results_dir(folder)
    flags: list[str] = []
    en_path = res / "en.dat"
    dyn = read_dyn_out(res / "dyn.out") if is_text_file(res / "dyn.out") else None
    if is_text_file(en_path) and not (dyn is not None and not file_bytes(en_path).strip()):
        en = read_en_dat(en_path)
    elif dyn is not None:  # dyn.out's energy lines: time, Etot, Ekin, E_1..E_n (E_active = Etot − Ekin); en.dat absent or empty
        flags.append("no_en.dat:energies_from_dyn.out")
        en = {k: dyn[k] for k in ("time_fs", "energies_hartree", "active_energy_hartree", "total_energy_hartree")}
    else:
        raise TrajectoryFormatError(en_path, None, "an en.dat file (Newton-X energies; dyn.xyz has none)")
    frames = _frames(res, en, dyn, flags)
    # align with en.dat by time; frames missing from en.dat are dropped (and flagged)
    en_key = np.round(en["time_fs"], _TIME_DECIMALS)
    t_key = np.round(frames["time_fs"], _TIME_DECIMALS)
    pos = np.clip(np.searchsorted(en_key, t_key), 0, len(en_key) - 1)
    in_en = en_key[pos] == t_key
    if not in_en.all():
        # frames after en.dat's last row: the run stopped mid-write (cut, as a truncated dyn.out is); else lost rows
        cut = bool((t_key[~in_en] > en_key.max()).all())
        flags.append("truncated" if cut else "frames_missing_in_en.dat")
        frames.update({k: frames[k][in_en] for k in _FRAME_KEYS if frames[k] is not None})
        pos = pos[in_en]
    if frames["time_fs"].size == 0:
        raise TrajectoryFormatError(en_path, None, "times matching the geometry frames")
    active = _active_state(res, en, pos, frames["time_fs"], flags)
    if frames["truncated"]:
        flags.append("truncated")
    return Trajectory(
        trajectory_id=trajectory_id or folder.name, source_path=str(folder), format="newtonx", symbols=frames["symbols"],
        masses_amu=np.asarray(frames["masses_amu"], dtype=float), time_fs=np.asarray(frames["time_fs"], dtype=float),
        coords_angstrom=np.asarray(frames["coords_angstrom"], dtype=float), active_state=np.asarray(active, dtype=np.int64),
        energies_ev=np.asarray(frames["energies_hartree"], dtype=float) * HARTREE_TO_EV,
        total_energy_ev=np.asarray(frames["total_energy_hartree"], dtype=float) * HARTREE_TO_EV,
        potential_energy_ev=np.asarray(frames["active_energy_hartree"], dtype=float) * HARTREE_TO_EV,
        populations=frames["populations"], flags=flags,
    )


_FRAME_KEYS = ("time_fs", "coords_angstrom", "energies_hartree", "total_energy_hartree", "active_energy_hartree", "populations")


def _frames(res: Path, en: dict, dyn: dict | None, flags: list[str]) -> dict:
    """Per-frame arrays (:data:`_FRAME_KEYS`) plus symbols, masses_amu, truncated: from ``dyn`` (the parsed
    ``dyn.out``), else from ``dyn.xyz`` with the energies of ``en.dat`` at the same times (masses from the element
    table)."""
    if dyn is not None:
        if dyn["dropped_times"]:
            flags.append(f"incomplete_blocks_dropped={dyn['dropped_times']}")
        if dyn["energies_hartree"].shape[1] != en["energies_hartree"].shape[1]:
            raise TrajectoryFormatError(res / "en.dat", 1, f"{dyn['energies_hartree'].shape[1]} states as in dyn.out")
        return {k: dyn[k] for k in (*_FRAME_KEYS, "symbols", "masses_amu", "truncated")}
    if not is_text_file(res / "dyn.xyz"):
        raise TrajectoryFormatError(res / "dyn.out", None, "a dyn.out file (or dyn.xyz) with the geometries")
    xyz = read_dyn_xyz(res / "dyn.xyz")
    en_key = np.round(en["time_fs"], _TIME_DECIMALS)
    idx = np.clip(np.searchsorted(en_key, np.round(xyz["time_fs"], _TIME_DECIMALS)), 0, len(en_key) - 1)
    return {"time_fs": xyz["time_fs"], "coords_angstrom": xyz["coords_angstrom"], "populations": None,
            **{k: en[k][idx] for k in ("energies_hartree", "total_energy_hartree", "active_energy_hartree")},
            "symbols": xyz["symbols"], "masses_amu": np.array([MASSES_AMU.get(s, np.nan) for s in xyz["symbols"]]),
            "truncated": xyz["truncated"]}


def _active_state(res: Path, en: dict, pos: np.ndarray, time_fs: np.ndarray, flags: list[str]) -> np.ndarray:
    """Post-hop active state per frame: ``typeofdyn.log``'s where it has the frame's time, else the state whose
    ``en.dat`` energy (rows ``pos``) is nearest the active energy."""
    active = 1 + np.argmin(np.abs(en["energies_hartree"][pos] - en["active_energy_hartree"][pos, None]), axis=1)
    tod_path = res / "typeofdyn.log"
    if not is_text_file(tod_path):
        flags.append("no_typeofdyn.log:active_state_from_en.dat")
        return active
    tod_t, tod_state = read_typeofdyn(tod_path)
    tod_key = np.round(tod_t, _TIME_DECIMALS)
    order = np.argsort(tod_key, kind="stable")
    tod_key, tod_state = tod_key[order], tod_state[order]
    frame_key = np.round(time_fs, _TIME_DECIMALS)
    p = np.clip(np.searchsorted(tod_key, frame_key), 0, len(tod_key) - 1)
    return np.where(tod_key[p] == frame_key, tod_state[p], active)
