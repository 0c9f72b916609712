"""SHARC 2.x/3.x/4.x reader: ``output.lis`` + ``output.xyz``, and ``output.dat`` when present; without
``output.lis``, ``output.dat`` alone (the file SHARC's own ``data_extractor`` reads: it holds the same steps,
states and energies), or ``output.xyz`` with the run's ``input`` (states from its comment lines, no energies).

Conventions (see ../shared/FORMATS.md):

* ``output.lis``: step, time [fs], diagonal state, MCH state, Ekin, Epot, Etot [eV, relative to ``ezero``];
  later columns differ between versions and are not used. ``# Surface Hop`` comment lines list the hops
  (in diagonal states). The state printed at a step is the state *after* that step's hop decision.
* ``output.xyz``: Å; comment ``t= <time> <diag> <MCH>``. It can hold more frames than ``output.lis`` /
  ``output.dat``; the reader keeps the times common to all files and flags the rest.
* ``output.dat``: settings header (``nstates_m``, ``natom``, ``dtstep`` in a.u., ``ezero`` in hartree),
  then ``! k name`` blocks per step, read by label: Hamiltonian (MCH, Re/Im; diagonal = E − ezero), U,
  coefficients (diag), Ekin, states (diag, MCH), geometry (bohr).

hopscope keeps SHARC's own numbering: ``active_state`` is the **diagonal** state, the surface SHARC
propagates on and the numbering of its ``# Surface Hop`` lines (energy-ordered eigenstates of the
spin-orbit Hamiltonian, 1 = lowest). ``energies_ev`` are the diagonal energies (eigenvalues of the MCH
Hamiltonian in ``output.dat``, + ezero) and ``populations`` the diagonal |c|². The MCH state (spin-pure,
1-based over all spin sublevels, ordered by multiplicity, then M_s, then energy) is kept per frame in
``extra['mch_state']`` with its multiplicity in ``extra['active_multiplicity']``; ``multiplicities`` and
``extra['mch_labels']`` describe the MCH states (S0, S1, T1 (Ms=-1), ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from analysis.elements import MASSES_AMU
from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import is_text_file
from analysis.io.text import (blank_lines, byte_at, element_symbols, integer_column, line_offsets, lines_starting_with, open_stored,
                              parse_lines, read_bytes, read_xyz_frames, without_cut_last_line)
from analysis.io.trajectory import STOPPED_FLAG, Trajectory, shared_rows, stopped_after_relaxation
from analysis.units import AMU_TO_ME, AU_TIME_TO_FS, BOHR_TO_ANGSTROM, HARTREE_TO_EV

_TIME_DECIMALS = 4  # output.dat times are step × dtstep (0.50000000550 fs): compare to 1e-4 fs
_HOP_RE = re.compile(r"new state=\s*(\d+)\s+old state=\s*(\d+)")
_SPIN_LETTER = {1: "S", 2: "D", 3: "T", 4: "Q"}


def is_sharc(folder: str | Path) -> bool:
    """True if the folder holds a SHARC trajectory: ``output.lis`` with ``output.xyz`` or ``output.dat``; or, without
    ``output.lis``, SHARC's ``output.dat`` (its first line ``SHARC_version``), or ``output.xyz`` beside SHARC's
    ``input`` (its ``nstates`` line)."""
    folder = Path(folder)
    has_xyz, has_dat = is_text_file(folder / "output.xyz"), is_text_file(folder / "output.dat")
    if is_text_file(folder / "output.lis"):
        return has_xyz or has_dat
    if has_dat:
        return _first_bytes(folder / "output.dat", 64).lstrip().startswith(b"SHARC_version")
    if has_xyz and is_text_file(folder / "input"):
        return b"nstates" in _first_bytes(folder / "input", 20_000).lower()
    return False


def _first_bytes(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of a file as stored plain or compressed (b"" if it cannot be read)."""
    try:
        with open_stored(path) as fh:
            return fh.read(n)
    except (OSError, EOFError, ValueError):
        return b""


def state_table(nstates_m: list[int]) -> tuple[list[str], np.ndarray]:
    """Labels and multiplicities of SHARC's MCH states for ``nstates <n_singlet> <n_doublet> <n_triplet> ...``.

    Ordering: multiplicity, then M_s from −S to +S, then energy. Singlets and doublets count from 0
    (S0 is the ground state), higher multiplicities from 1 (T1, Q1).
    """
    labels, mults = [], []
    for m, n in enumerate(nstates_m, start=1):
        first = 0 if m <= 2 else 1
        letter = _SPIN_LETTER.get(m, f"M{m}_")
        for k in range(m):
            ms2 = -(m - 1) + 2 * k  # 2·M_s
            ms = f"{ms2 // 2:+d}" if ms2 % 2 == 0 else f"{ms2:+d}/2"
            for i in range(n):
                labels.append(f"{letter}{first + i}" if m == 1 else f"{letter}{first + i} (Ms={ms})")
                mults.append(m)
    return labels, np.array(mults, dtype=np.int64)


def read_input(path: str | Path) -> dict:
    """The few keys of a SHARC ``input`` file hopscope needs: nstates (list), ezero_hartree, stepsize_fs, killafter_fs
    (the run stops after this long in the lowest state)."""
    path = Path(path)
    out: dict = {}
    for line_no, line in enumerate(read_bytes(path).decode("ascii").splitlines(), start=1):
        fields = line.split("#")[0].split()
        if not fields:
            continue
        key = fields[0].lower()
        try:
            if key == "nstates":
                out["nstates"] = [int(v) for v in fields[1:]]
            elif key == "ezero":
                out["ezero_hartree"] = float(fields[1])
            elif key == "stepsize":
                out["stepsize_fs"] = float(fields[1])
            elif key == "killafter":
                out["killafter_fs"] = float(fields[1])
        except (ValueError, IndexError):
            raise TrajectoryFormatError(path, line_no, f"'{key} <number(s)>'") from None
    return out


def read_output_lis(path: str | Path) -> dict:
    """Parse ``output.lis``.

    Returns
    -------
    dict with step, time_fs, diag_state, mch_state, ekin_ev, epot_ev, etot_ev (energies relative to
    ezero, as printed) and hops: list of (row, new_diag, old_diag), ``row`` being the first data row
    printed after the hop comment.
    """
    path = Path(path)
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    b0 = byte_at(raw, starts, ends, 0)
    is_comment = b0 == ord("#")
    data_ids = np.flatnonzero(~is_comment & ~blank_lines(raw, starts, ends))
    if data_ids.size == 0:
        raise TrajectoryFormatError(path, 1, "data rows 'step time diag MCH Ekin Epot Etot ...'")
    n_fields = len(raw[starts[data_ids[0]]:ends[data_ids[0]]].split())
    if n_fields < 7:
        raise TrajectoryFormatError(path, int(data_ids[0]) + 1, f"at least 7 columns (found {n_fields})")
    data_ids = without_cut_last_line(raw, starts, ends, data_ids, n_fields)
    table = parse_lines(raw, starts, ends, data_ids, n_fields, range(7), path, "an output.lis data row")
    hops = []
    comment_ids = np.flatnonzero(is_comment)
    comment_text = [raw[starts[i]:ends[i]].decode("ascii") for i in comment_ids]
    for line_id, text in zip(comment_ids, comment_text):
        m = _HOP_RE.search(text)
        if m and "Surface Hop" in text:
            row = int(np.searchsorted(data_ids, line_id))
            hops.append((row, int(m.group(1)), int(m.group(2))))
    lines = data_ids + 1
    time_fs = table[:, 1]
    if not np.all(np.isfinite(time_fs)):
        raise TrajectoryFormatError(path, int(lines[np.flatnonzero(~np.isfinite(time_fs))[0]]), "a finite time")
    return {
        "step": integer_column(table[:, 0], path, lines, "step", minimum=0),
        "time_fs": time_fs,
        "diag_state": integer_column(table[:, 2], path, lines, "diagonal state"),
        "mch_state": integer_column(table[:, 3], path, lines, "MCH state"),
        "ekin_ev": table[:, 4],
        "epot_ev": table[:, 5],
        "etot_ev": table[:, 6],
        "hops": hops,
    }


def read_output_xyz(path: str | Path) -> dict:
    """Parse SHARC ``output.xyz`` (Å; comment ``t= time diag MCH``). A partial last frame is dropped."""
    path = Path(path)
    frames = read_xyz_frames(path)
    raw, starts, ends, comment_lines = frames["raw"], frames["starts"], frames["ends"], frames["comment_lines"]
    comments = parse_lines(raw, starts, ends, comment_lines, 4, (1, 2, 3), path, "a comment line 't= time diag MCH'")
    line_numbers = comment_lines + 1
    if not np.all(np.isfinite(comments[:, 0])):
        raise TrajectoryFormatError(path, int(line_numbers[np.flatnonzero(~np.isfinite(comments[:, 0]))[0]]), "a finite time")
    return {"symbols": frames["symbols"], "time_fs": comments[:, 0],
            "diag_state": integer_column(comments[:, 1], path, line_numbers, "diagonal state"),
            "mch_state": integer_column(comments[:, 2], path, line_numbers, "MCH state"),
            "coords_angstrom": frames["coords_angstrom"], "truncated": frames["truncated"]}

def read_output_dat(path: str | Path) -> dict:
    """Parse the blocks of ``output.dat`` hopscope uses, by label.

    Returns
    -------
    dict with settings (dict of str), nstates (list), natom, dt_fs, ezero_hartree, masses_amu, symbols,
    step (n,), hamiltonian_diag_hartree (n, n_total; MCH diagonal, relative to ezero),
    energies_diag_hartree (n, n_total; absolute eigenvalues of the Hamiltonian), populations_diag (n, n_total)
    or None, ekin_hartree (n,), diag_state, mch_state (n,), coords_angstrom (n, natom, 3), truncated.
    """
    path = Path(path)
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    settings, nstates, natom, dt_fs, ezero = _dat_settings(path, raw)
    n_total = sum(m * n for m, n in enumerate(nstates, start=1))
    is_label = byte_at(raw, starts, ends, 0) == ord("!")

    def block(prefix: bytes) -> np.ndarray:
        return np.flatnonzero(lines_starting_with(raw, starts, ends, is_label, (prefix,)))

    symbols_at, masses_at = block(b"! Elements"), block(b"! Atomic masses")
    if symbols_at.size != 1 or masses_at.size != 1:
        raise TrajectoryFormatError(path, None, "one '! Elements' and one '! Atomic masses' header block")
    symbol_lines = np.arange(symbols_at[0] + 1, symbols_at[0] + 1 + natom)
    symbols = element_symbols([raw[starts[i]:ends[i]].decode("ascii") for i in symbol_lines], path, symbol_lines + 1)
    masses_amu = parse_lines(raw, starts, ends, np.arange(masses_at[0] + 1, masses_at[0] + 1 + natom), 1, (0,), path,
                             "an atomic mass")[:, 0] / AMU_TO_ME
    step_at = block(b"! 0 Step")
    found, step_of_line, n_ok, complete_last = _step_blocks(path, block, step_at, np.flatnonzero(is_label), len(starts), n_total, natom)

    def rows(key: str, n_rows: int, n_fields: int, usecols, what: str) -> np.ndarray:
        ids = (found[key][:, None] + 1 + np.arange(n_rows)[None, :]).ravel()
        return parse_lines(raw, starts, ends, ids, n_fields, usecols, path, what)

    step = integer_column(parse_lines(raw, starts, ends, step_at[:n_ok] + 1, 1, (0,), path, "a step number")[:, 0],
                          path, step_at[:n_ok] + 2, "step number", minimum=0)
    ham = rows("ham", n_total, 2 * n_total, range(2 * n_total), "a Hamiltonian row").reshape(n_ok, n_total, 2 * n_total)
    states = rows("states", 1, 2, (0, 1), "'diag MCH' states")
    geom = rows("geom", natom, 3, (0, 1, 2), "a geometry row (bohr)").reshape(n_ok, natom, 3)
    populations = None
    if found["coef"].size == n_ok and np.array_equal(step_of_line[found["coef"]], np.arange(n_ok)):
        populations = (rows("coef", n_total, 2, (0, 1), "a coefficient row").reshape(n_ok, n_total, 2) ** 2).sum(axis=2)
    return {
        "settings": settings, "nstates": nstates, "natom": natom, "dt_fs": dt_fs, "ezero_hartree": ezero,
        "symbols": symbols, "masses_amu": masses_amu, "step": step.astype(np.int64),
        "hamiltonian_diag_hartree": ham[:, np.arange(n_total), 2 * np.arange(n_total)],
        "energies_diag_hartree": np.linalg.eigvalsh(ham[..., 0::2] + 1j * ham[..., 1::2]) + ezero,
        "populations_diag": populations, "ekin_hartree": rows("ekin", 1, 1, (0,), "Ekin")[:, 0],
        "diag_state": integer_column(states[:, 0], path, found["states"] + 2, "diagonal state"),
        "mch_state": integer_column(states[:, 1], path, found["states"] + 2, "MCH state"),
        "coords_angstrom": geom * BOHR_TO_ANGSTROM, "truncated": not complete_last,
    }


def _dat_settings(path: Path, raw: bytes):
    """The settings header of ``output.dat``: (settings, nstates_m, natom, dt in fs, ezero in hartree)."""
    text_head = raw[: 20000].decode("ascii")
    end_settings = text_head.find("End of settings")
    if end_settings < 0:
        raise TrajectoryFormatError(path, 1, "a settings header ending with '*** End of settings ***'")
    settings: dict[str, str] = {}
    for line in text_head[:end_settings].splitlines():
        fields = line.split()
        if len(fields) >= 2:
            settings[fields[0]] = " ".join(fields[1:])
    try:
        nstates = [int(v) for v in settings["nstates_m"].split()]
        return settings, nstates, int(settings["natom"]), float(settings["dtstep"]) * AU_TIME_TO_FS, float(settings["ezero"])
    except (KeyError, ValueError) as exc:
        raise TrajectoryFormatError(path, 1, f"settings nstates_m, natom, dtstep, ezero ({exc})") from None


_STEP_BLOCKS = {"ham": b"! 1 Hamiltonian", "coef": b"! 5 Coefficients", "ekin": b"! 7 Ekin", "states": b"! 8 states",
                "geom": b"! 11 Geometry"}
_REQUIRED_BLOCKS = ("ham", "ekin", "states", "geom")


def _step_blocks(path: Path, block, step_at: np.ndarray, label_ids: np.ndarray, n_lines: int, n_total: int, natom: int):
    """The label lines of every per-step block whose body is whole, by block (the required ones cut to the
    complete steps), each line's step, the number of complete steps, and whether the last step is complete.
    Only the last step may be incomplete (a crash); an incomplete earlier one is an error naming its line."""
    n_steps = step_at.size
    if n_steps == 0:
        raise TrajectoryFormatError(path, None, "per-step blocks starting with '! 0 Step'")
    step_of_line = np.cumsum(np.isin(np.arange(n_lines), step_at)) - 1
    found: dict[str, np.ndarray] = {}
    complete = np.ones(n_steps, dtype=bool)
    body_rows = {"ham": n_total, "coef": n_total, "geom": natom}  # the others: one line
    for key, prefix in _STEP_BLOCKS.items():
        n_rows = body_rows.get(key, 1)
        at = block(prefix)
        body_end = at + n_rows
        inside = body_end < n_lines
        nxt = label_ids[np.minimum(np.searchsorted(label_ids, at + 1), label_ids.size - 1)]
        whole = inside & ((nxt > body_end) | (nxt <= at))  # no label inside the body
        if key in _REQUIRED_BLOCKS:
            complete &= np.bincount(step_of_line[at[whole]], minlength=n_steps) == 1
        found[key] = at[whole]
    if not complete[:-1].all():
        bad = int(np.flatnonzero(~complete[:-1])[0])
        raise TrajectoryFormatError(path, int(step_at[bad]) + 1, "a complete step block (Hamiltonian, Ekin, states, Geometry)")
    n_ok = n_steps if complete[-1] else n_steps - 1
    if n_ok == 0:
        raise TrajectoryFormatError(path, int(step_at[0]) + 1, "at least one complete step block")
    found = {key: at[:n_ok] for key, at in found.items()}
    return found, step_of_line, n_ok, bool(complete[-1])


def read_sharc(folder: str | Path, trajectory_id: str | None = None) -> Trajectory:
    """Read one SHARC trajectory folder (``TRAJ_00001``).

    Geometry from ``output.xyz`` (else ``output.dat``), time, states and energies from ``output.lis`` (else from
    ``output.dat``, else time and states from ``output.xyz``; flagged ``no_output.lis``); per-state energies and
    populations from ``output.dat`` when present. Energies are made absolute with ``ezero`` (from ``output.dat``
    or ``input``); without either they stay relative (flagged).

    Raises
    ------
    TrajectoryFormatError
        On malformed input, naming file and line.
    """
    folder = Path(folder)
    flags: list[str] = []
    dat = read_output_dat(folder / "output.dat") if is_text_file(folder / "output.dat") else None
    inp = read_input(folder / "input") if is_text_file(folder / "input") else {}
    xyz = read_output_xyz(folder / "output.xyz") if is_text_file(folder / "output.xyz") else None
    if is_text_file(folder / "output.lis"):
        lis = read_output_lis(folder / "output.lis")
    else:
        lis = _lis_from(folder, dat, xyz, inp, flags)
    if (folder / "DONT_ANALYZE").exists():
        flags.append("DONT_ANALYZE")  # SHARC's marker of a crashed run
    i_lis, i_dat, coords, symbols = _aligned_frames(folder, lis, xyz, dat, flags)
    n_states, mults, extra = _states(folder, lis["diag_state"][i_lis], lis["mch_state"][i_lis],
                                     dat["nstates"] if dat is not None else inp.get("nstates"), flags)
    ezero_h = dat["ezero_hartree"] if dat is not None else inp.get("ezero_hartree")
    if ezero_h is None:
        flags.append("energies_relative_to_ezero")
    ezero_ev = 0.0 if ezero_h is None else ezero_h * HARTREE_TO_EV
    if dat is not None:
        energies = dat["energies_diag_hartree"][i_dat] * HARTREE_TO_EV
        populations = None if dat["populations_diag"] is None else dat["populations_diag"][i_dat]
        masses = dat["masses_amu"]
    else:
        flags.append("no_output.dat:no_per_state_energies")
        energies, populations = np.full((i_lis.size, n_states), np.nan), None
        masses = np.array([MASSES_AMU.get(s, np.nan) for s in symbols])
    kill_after = inp.get("killafter_fs", _float_or_none(dat["settings"].get("killafter")) if dat is not None else None)
    if stopped_after_relaxation(lis["time_fs"][i_lis], lis["diag_state"][i_lis], kill_after):
        flags.append(f"{STOPPED_FLAG}: killafter {kill_after:g} fs in the lowest state")
    return Trajectory(
        trajectory_id=trajectory_id or folder.name, source_path=str(folder), format="sharc", symbols=symbols,
        masses_amu=np.asarray(masses, dtype=float), time_fs=lis["time_fs"][i_lis],
        coords_angstrom=np.asarray(coords, dtype=float), active_state=lis["diag_state"][i_lis], energies_ev=energies,
        total_energy_ev=lis["etot_ev"][i_lis] + ezero_ev, potential_energy_ev=lis["epot_ev"][i_lis] + ezero_ev,
        populations=populations, state_labels=[f"diag{i + 1}" for i in range(n_states)], multiplicities=mults,
        extra=extra, flags=flags,
    )


def _lis_from(folder: Path, dat: dict | None, xyz: dict | None, inp: dict, flags: list[str]) -> dict:
    """What ``output.lis`` would hold, from ``output.dat`` (step, states, Ekin; the active state's energy from its
    Hamiltonian, relative to ezero as output.lis prints it) or, without it, from ``output.xyz``'s comment lines
    (time and states; no energies). Flagged: ``no_output.lis``."""
    if dat is not None:
        flags.append("no_output.lis:states_and_energies_from_output.dat")
        rows = np.arange(len(dat["step"]))
        epot_h = dat["energies_diag_hartree"][rows, np.clip(dat["diag_state"], 1, None) - 1] - (dat["ezero_hartree"] or 0.0)
        ekin_ev = dat["ekin_hartree"] * HARTREE_TO_EV
        return {"step": dat["step"], "time_fs": dat["step"] * dat["dt_fs"], "diag_state": dat["diag_state"],
                "mch_state": dat["mch_state"], "ekin_ev": ekin_ev, "epot_ev": epot_h * HARTREE_TO_EV,
                "etot_ev": ekin_ev + epot_h * HARTREE_TO_EV, "hops": []}
    if xyz is None or not inp.get("nstates"):
        raise TrajectoryFormatError(folder / "output.lis", None, "output.lis, or output.dat, or output.xyz with the input's nstates")
    flags.append("no_output.lis:no_energies")
    n = len(xyz["time_fs"])
    return {"step": np.arange(n), "time_fs": xyz["time_fs"], "diag_state": xyz["diag_state"], "mch_state": xyz["mch_state"],
            "ekin_ev": np.full(n, np.nan), "epot_ev": np.full(n, np.nan), "etot_ev": np.full(n, np.nan), "hops": []}


def _float_or_none(text) -> float | None:
    try:
        return float(str(text).replace("d", "e").replace("D", "E"))
    except ValueError:
        return None


def _aligned_frames(folder: Path, lis: dict, xyz: dict | None, dat: dict | None, flags: list[str]):
    """The rows of ``output.lis`` and ``output.dat`` at the times all present files share, and the coordinates
    (Å) and symbols there (from ``output.xyz``, else ``output.dat``); disagreements are appended to ``flags``.

    Returns (lis rows, dat rows or None, coordinates, symbols).
    """
    series = [lis["time_fs"]] + ([xyz["time_fs"]] if xyz is not None else []) + ([dat["step"] * dat["dt_fs"]] if dat is not None else [])
    index = shared_rows(*(np.round(t, _TIME_DECIMALS) for t in series))[1]
    i_lis, i_dat = index[0], (index[-1] if dat is not None else None)
    if i_lis.size == 0:
        raise TrajectoryFormatError(folder / "output.lis", None, "times shared with output.xyz/output.dat")
    states_lis = (lis["mch_state"][i_lis], lis["diag_state"][i_lis])
    if xyz is not None:
        i_xyz = index[1]
        extra = np.unique(np.round(xyz["time_fs"], _TIME_DECIMALS)).size - i_xyz.size
        if extra:
            flags.append(f"output.xyz_extra_frames={extra}")
        coords, symbols = xyz["coords_angstrom"][i_xyz], xyz["symbols"]
        if not all(np.array_equal(xyz[k][i_xyz], v) for k, v in zip(("mch_state", "diag_state"), states_lis)):
            flags.append("state_mismatch_xyz_lis")
    if dat is not None:
        if xyz is None:
            coords, symbols = dat["coords_angstrom"][i_dat], dat["symbols"]
        if not all(np.array_equal(dat[k][i_dat], v) for k, v in zip(("mch_state", "diag_state"), states_lis)):
            flags.append("state_mismatch_dat_lis")
    if xyz is None and dat is None:
        raise TrajectoryFormatError(folder / "output.xyz", None, "output.xyz or output.dat (the geometries)")
    if len(lis["time_fs"]) - i_lis.size:
        flags.append(f"output.lis_rows_not_used={len(lis['time_fs']) - i_lis.size}")
    if (xyz is not None and xyz["truncated"]) or (dat is not None and dat["truncated"]):
        flags.append("truncated")
    return i_lis, i_dat, coords, symbols


def _states(folder: Path, diag: np.ndarray, mch: np.ndarray, nstates: list[int] | None, flags: list[str]):
    """(number of states, multiplicities or None, extra per-frame arrays: MCH state, labels, multiplicity) from
    ``nstates_m`` when known, else the highest state seen (flagged)."""
    extra = {"mch_state": mch}
    if nstates:
        mch_labels, mults = state_table(nstates)
        n_states = len(mch_labels)
        extra["mch_labels"] = np.array(mch_labels)
        extra["active_multiplicity"] = mults[np.clip(mch, 1, n_states) - 1]
    else:
        flags.append("n_states_from_max_state")
        n_states, mults = int(max(diag.max(), mch.max())), None
    if max(diag.max(), mch.max()) > n_states:
        raise TrajectoryFormatError(folder / "output.lis", None, f"states <= {n_states} (nstates {nstates})")
    return n_states, mults, extra
