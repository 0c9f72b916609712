"""Quality control of an ingested ensemble, in the spirit of SHARC's diagnostics.

Checks per trajectory (values in eV / frames):

* ``etot_drift_ev``     max |E_tot(t) − E_tot(0)|              fails above ``max_etot_drift_ev`` (0.2)
* ``etot_step_ev``      max |E_tot(t+dt) − E_tot(t)|           fails above ``max_etot_step_ev`` (0.1)
* ``hop_epot_jump_ev``  max |E_to − E_from| at a hop frame      fails above ``max_hop_epot_jump_ev`` (1.0)
* ``length_fraction``   duration_fs / nominal (ensemble median) fails below ``min_length_fraction`` (1.0) by more than
                        half its own time step, unless its reader found that the program stopped it once relaxed
                        (SHARC ``killafter``: the flag ``stopped_after_relaxation``): such a run is complete, not
                        crashed. ``duration_fs``: last minus first time, so runs of the same length written with
                        different time steps (0.25 and 0.5 fs) are equally long
* ``finite``            no NaN/inf in coordinates or energies
* ``atoms_consistent``  same atom count and order as the ensemble's majority
* ``reader_flags``      none of the reader's flags named in ``exclude_flags`` (data lost or inconsistent
                        between a program's own files; SHARC's ``DONT_ANALYZE`` crash marker)
* ``duplicate``         not a copy of a trajectory earlier in natural order (the same times, active states,
                        energies and coordinates, :func:`fingerprint`): a run folder copied, or a run started
                        twice from the same initial condition and random seed, would count its channel twice
                        (``exclude_copies``: false records ``duplicate_of`` and keeps the copy)

Recorded, not a check: ``fc_ground_energy_ev``, the lowest state energy of the first frame. Initial conditions
drawn from one distribution differ there by about a zero-point energy's share (well under 3 eV for the
molecules here); ensembles that mix electronic-structure methods or energy references fall into groups further
apart, which :func:`energy_reference_groups` finds and the report warns about.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.elements import hill_formula
from analysis.io.paths import natural_rank
from analysis.io.store import Store
from analysis.io.trajectory import STOPPED_FLAG, hop_frames
from analysis.settings import defaults

log = logging.getLogger(__name__)

_QC_DEFAULTS = defaults("qc")  # written once, in the config schema
DEFAULT_THRESHOLDS = {k: _QC_DEFAULTS[k] for k in ("max_etot_drift_ev", "max_etot_step_ev", "max_hop_epot_jump_ev",
                                                    "min_length_fraction")}
# reader flags (prefixes) that exclude a trajectory: frames lost, or a program's files disagree
DEFAULT_EXCLUDE_FLAGS = list(_QC_DEFAULTS["exclude_flags"])


def trajectory_checks(time_fs, coords, active_state, energies_ev, total_energy_ev, potential_energy_ev=None) -> dict:
    """Raw check values for one trajectory (no thresholds applied).

    A state whose energy column is NaN in every frame was not written by the program (SHARC without
    ``output.dat``) and does not count as non-finite; a NaN among printed values does. The same holds for
    a total energy the program did not write (drift checks are then skipped).
    """
    etot = np.asarray(total_energy_ev, dtype=float)
    energies_ev = np.asarray(energies_ev, dtype=float)
    active_state = np.asarray(active_state)
    if potential_energy_ev is None:
        potential_energy_ev = energies_ev[np.arange(len(active_state)), active_state - 1]
    epot = np.asarray(potential_energy_ev, dtype=float)
    written = ~np.isnan(energies_ev).all(axis=0)
    etot_written = not np.isnan(etot).all()
    finite = bool(np.isfinite(coords).all() and np.isfinite(energies_ev[:, written]).all()
                  and (np.isfinite(etot).all() or not etot_written)
                  and (np.isfinite(epot).all() or np.isnan(epot).all()))
    drift = step = 0.0
    if etot_written:
        with np.errstate(invalid="ignore"):
            drift = float(np.nanmax(np.abs(etot - etot[0]))) if etot.size else 0.0
            step = float(np.nanmax(np.abs(np.diff(etot)))) if etot.size > 1 else 0.0
    hops = hop_frames(active_state)
    hop_jump = 0.0
    if hops.size:
        e_to = energies_ev[hops, active_state[hops] - 1]
        e_from = energies_ev[hops, active_state[hops - 1] - 1]
        # without per-state energies: the active-surface energy across the hop step
        jump = np.where(np.isfinite(e_to) & np.isfinite(e_from), e_to - e_from, epot[hops] - epot[hops - 1])
        if np.isfinite(jump).any():
            hop_jump = float(np.nanmax(np.abs(jump)))
    time_fs = np.asarray(time_fs, dtype=float)
    dt = float(np.median(np.diff(time_fs))) if len(time_fs) > 1 else 0.0
    return {"n_frames": int(len(time_fs)), "etot_drift_ev": drift, "etot_step_ev": step,
            "hop_epot_jump_ev": hop_jump, "finite": finite, "time_step_fs": dt,
            "duration_fs": float(time_fs[-1] - time_fs[0]) if len(time_fs) else 0.0}


# fail at a frame: a trajectory can be truncated there
LOCAL_CHECKS = ("etot_drift", "etot_step", "hop_epot_jump", "not_finite")


def first_non_finite_frame(coords, energies_ev, total_energy_ev) -> int:
    """Index of the first frame with a NaN or inf coordinate, printed state energy or printed total energy
    (n_frames if none has): a run that blew up (a program prints NaN once the electronic structure fails) is
    usable up to there. A state or total energy the program never wrote (NaN in every frame) does not count."""
    bad = ~np.isfinite(np.asarray(coords, dtype=float)).reshape(len(coords), -1).all(axis=1)
    energies_ev = np.asarray(energies_ev, dtype=float).reshape(len(coords), -1)
    written = ~np.isnan(energies_ev).all(axis=0)
    bad |= ~np.isfinite(energies_ev[:, written]).all(axis=1)
    etot = np.asarray(total_energy_ev, dtype=float)
    if not np.isnan(etot).all():
        bad |= ~np.isfinite(etot)
    return int(np.argmax(bad)) if bad.any() else len(coords)


def first_failing_frame(active_state, energies_ev, total_energy_ev, potential_energy_ev, thresholds: dict, coords=None) -> int:
    """Index of the first frame at which a frame-local check fails (n_frames if none does).

    The frames before it are the usable part of the trajectory, as in SHARC's ``diagnostics.py``: the first
    frame whose |E_tot − E_tot(0)| exceeds ``max_etot_drift_ev``, the frame after a one-step total-energy
    change above ``max_etot_step_ev``, a hop frame whose potential-energy jump exceeds ``max_hop_epot_jump_ev``,
    or, given ``coords``, the first frame with a non-finite value (:func:`first_non_finite_frame`).
    """
    etot = np.asarray(total_energy_ev, dtype=float)
    energies_ev = np.asarray(energies_ev, dtype=float)
    active_state = np.asarray(active_state)
    n = len(active_state)
    candidates = [n] if coords is None else [n, first_non_finite_frame(coords, energies_ev, etot)]
    if n and not np.isnan(etot).all():
        with np.errstate(invalid="ignore"):
            candidates += list(np.flatnonzero(np.abs(etot - etot[0]) > thresholds["max_etot_drift_ev"])[:1])
            candidates += list(np.flatnonzero(np.abs(np.diff(etot)) > thresholds["max_etot_step_ev"])[:1] + 1)
    hops = hop_frames(active_state)
    if hops.size:
        e_to = energies_ev[hops, active_state[hops] - 1]
        e_from = energies_ev[hops, active_state[hops - 1] - 1]
        epot = np.asarray(potential_energy_ev, dtype=float)
        jump = np.where(np.isfinite(e_to) & np.isfinite(e_from), e_to - e_from, epot[hops] - epot[hops - 1])
        with np.errstate(invalid="ignore"):
            candidates += list(hops[np.abs(jump) > thresholds["max_hop_epot_jump_ev"]][:1])
    return int(min(candidates))


QC_COLUMNS = ["trajectory_id", "n_frames", "etot_drift_ev", "etot_step_ev", "hop_epot_jump_ev", "finite", "excluding_flags",
              "usable_frames", "first_failing_time_fs", "fc_ground_energy_ev", "stopped_after_relaxation", "time_step_fs", "duration_fs",
              "last_usable_time_fs", "fingerprint"]
ENERGY_GROUP_GAP_EV = 3.0  # first-frame lowest-state energies further apart than this with none between: different references


def fingerprint(time_fs, active_state, energies_ev, coords) -> str:
    """A digest of a trajectory's frame count, times, active states, state energies and the coordinates of its
    first, middle and last frame: equal only for copies (two runs that differ anywhere differ in their energies
    or in where their atoms are half-way and at the end, to the last printed digit)."""
    coords = np.asarray(coords, float)
    n = len(coords)
    digest = hashlib.blake2b(digest_size=12)
    digest.update(np.int64(n).tobytes())
    for part in (np.asarray(time_fs, float), np.asarray(active_state, np.int64), np.asarray(energies_ev, float),
                 coords[[0, n // 2, n - 1]] if n else coords):
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def store_checks(store: Store, thresholds: dict, exclude_flags: tuple = ()) -> tuple[list[dict], dict[str, tuple]]:
    """The per-trajectory check values of one open store (:func:`trajectory_checks`, reader flags that exclude,
    :func:`first_failing_frame`) and each trajectory's atoms: (rows of :data:`QC_COLUMNS`, id → symbols)."""
    rows, symbols = [], {}
    for tid in store.ids:
        time_fs, active_state = store.array(tid, "time_fs"), store.array(tid, "active_state")
        energies, etot, epot = (store.array(tid, name) for name in ("energies_ev", "total_energy_ev", "potential_energy_ev"))
        coords = store.array(tid, "coords_angstrom")
        checks = trajectory_checks(time_fs, coords, active_state, energies, etot, epot)
        symbols[tid] = tuple(store.meta[tid]["symbols"])
        bad_flags = [f for f in store.meta[tid]["flags"] if f.startswith(exclude_flags)] if exclude_flags else []
        usable = first_failing_frame(active_state, energies, etot, epot, thresholds, coords)
        first = np.asarray(energies[:1], float).ravel()
        rows.append({"trajectory_id": tid, **checks, "excluding_flags": ";".join(bad_flags), "usable_frames": usable,
                     "first_failing_time_fs": float(time_fs[usable]) if usable < len(time_fs) else np.nan,
                     "fc_ground_energy_ev": float(np.min(first)) if len(first) and np.isfinite(first).any() else np.nan,
                     "stopped_after_relaxation": any(f.startswith(STOPPED_FLAG) for f in store.meta[tid]["flags"]),
                     "last_usable_time_fs": float(time_fs[usable - 1]) if usable else np.nan,
                     "fingerprint": fingerprint(time_fs, active_state, energies, coords)})
    return rows, symbols


def energy_reference_groups(trajectory_ids, fc_ground_energy_ev, gap_ev: float = ENERGY_GROUP_GAP_EV) -> list[list[str]]:
    """The trajectories grouped by their first frame's lowest-state energy: sorted, and cut wherever two neighbouring
    energies are more than ``gap_ev`` apart (trajectories without one are left out). One group is the normal case;
    more mean the ensemble mixes energy references (another method, basis or program), and its channels and
    surrogate mix them too."""
    energy = pd.Series(np.asarray(fc_ground_energy_ev, float), index=list(trajectory_ids)).dropna().sort_values(kind="stable")
    if energy.empty:
        return []
    cuts = np.flatnonzero(np.diff(energy.to_numpy()) > gap_ev) + 1
    return [list(part) for part in np.split(np.asarray(energy.index, dtype=object), cuts)]


def atoms_difference(mine, ensemble) -> str:
    """How a trajectory's atoms differ from the ensemble's (the most common atom list), in words."""
    mine, ensemble = tuple(mine), tuple(ensemble)
    if len(mine) != len(ensemble) or sorted(mine) != sorted(ensemble):
        return (f"atom count or order differs from the ensemble: {len(mine)} atoms ({hill_formula(mine)}) where the ensemble "
                f"has {len(ensemble)} ({hill_formula(ensemble)})")
    k = next(i for i, (a, b) in enumerate(zip(mine, ensemble)) if a != b)
    return (f"atom count or order differs from the ensemble: the same atoms in another order (atom {k + 1} is "
            f"{mine[k]}, the ensemble's is {ensemble[k]})")


def qc_table(rows: list[dict], symbols: dict[str, tuple], thresholds: dict, exclude_copies: bool = True) -> pd.DataFrame:
    """Every check value, ``pass_<check>`` for each check, ``qc_reason`` in words and ``qc_pass``, from the rows of
    :func:`store_checks` of every batch (the nominal length and the majority's atoms are the ensemble's). Without
    ``exclude_copies`` a copy's ``duplicate_of`` is recorded but passes."""
    th = thresholds
    qc = pd.DataFrame(rows, columns=QC_COLUMNS)
    qc["stopped_after_relaxation"] = qc["stopped_after_relaxation"].astype(object).eq(True)  # absent: not known to have stopped
    qc = qc.astype({"trajectory_id": object, "n_frames": "int64", "etot_drift_ev": float, "etot_step_ev": float,
                    "hop_epot_jump_ev": float, "finite": bool, "excluding_flags": object, "usable_frames": "int64",
                    "first_failing_time_fs": float, "fc_ground_energy_ev": float, "stopped_after_relaxation": bool,
                    "time_step_fs": float, "duration_fs": float, "last_usable_time_fs": float})
    counts = Counter(symbols.values()).most_common(2) if symbols else []
    majority = counts[0][0] if counts else ()
    # two molecules in equal numbers: the one read first is the ensemble's, and the exclusions say it was a tie
    tie = (f" (as many runs of each, {counts[0][1]}: the ensemble's molecule is the one read first)"
           if len(counts) == 2 and counts[0][1] == counts[1][1] else "")
    qc["atoms_consistent"] = pd.Series([symbols[t] == majority for t in qc["trajectory_id"]], index=qc.index, dtype=bool)
    # simulated time (fs) of the ensemble's molecule: runs of another molecule in the same root (excluded for their
    # atoms) do not set it (two 250 fs runs of another molecule made the 100 fs runs of the majority 'too short')
    same = qc.loc[qc["atoms_consistent"], "duration_fs"]
    nominal = float(np.median(same if len(same) else qc["duration_fs"])) if len(qc) else 0.0
    # the first of each set of copies, in natural order, is the one analysed
    in_order = qc.sort_values("trajectory_id", key=natural_rank, kind="stable")
    original = in_order.groupby("fingerprint", sort=False)["trajectory_id"].transform("first").reindex(qc.index)
    qc["duplicate_of"] = original.where(original != qc["trajectory_id"], "").fillna("").astype(object)
    with np.errstate(invalid="ignore", divide="ignore"):
        qc["length_fraction"] = (qc["duration_fs"] / nominal).astype(float) if len(qc) else pd.Series(dtype=float)
    fails = {
        "etot_drift": qc["etot_drift_ev"] > th["max_etot_drift_ev"],
        "etot_step": qc["etot_step_ev"] > th["max_etot_step_ev"],
        "hop_epot_jump": qc["hop_epot_jump_ev"] > th["max_hop_epot_jump_ev"],
        # short by more than half its own step: printed times are rounded, and one frame is one frame
        "too_short": ((qc["duration_fs"] + 0.5 * qc["time_step_fs"] < th["min_length_fraction"] * nominal)
                      & ~qc["stopped_after_relaxation"]),
        "not_finite": ~qc["finite"].astype(bool),
        "atoms_changed": ~qc["atoms_consistent"].astype(bool),
        "reader_flags": qc["excluding_flags"].fillna("") != "",
        "duplicate": (qc["duplicate_of"] != "") & exclude_copies,
    }
    for name, mask in fails.items():
        qc[f"pass_{name}"] = ~mask
    explain = {
        "etot_drift": lambda r: f"total-energy drift {r.etot_drift_ev:.3f} eV > {th['max_etot_drift_ev']} eV",
        "etot_step": lambda r: f"total-energy jump {r.etot_step_ev:.3f} eV in one step > {th['max_etot_step_ev']} eV",
        "hop_epot_jump": lambda r: f"potential-energy jump at a hop {r.hop_epot_jump_ev:.3f} eV > {th['max_hop_epot_jump_ev']} eV",
        "too_short": lambda r: (f"{r.duration_fs:g} fs simulated ("
                                + (f"{r.n_frames} frames of {r.time_step_fs:g} fs" if r.n_frames != 1 else "1 frame")
                                + f") < {th['min_length_fraction']:g} x nominal {nominal:g} fs"),
        "not_finite": lambda r: "NaN or inf in coordinates or energies",
        "atoms_changed": lambda r: atoms_difference(symbols[r.trajectory_id], majority) + tie,
        "reader_flags": lambda r: f"reader flagged {r.excluding_flags}",
        "duplicate": lambda r: (f"a copy of {r.duplicate_of} (the same times, states, energies and coordinates): "
                                f"analysed once, as {r.duplicate_of}"),
    }
    qc["qc_reason"] = pd.Series([
        "; ".join(explain[name](r) for name in fails if not getattr(r, f"pass_{name}"))
        for r in qc.itertuples()
    ], index=qc.index, dtype=object)
    qc["qc_pass"] = qc["qc_reason"] == ""
    whole = [name for name in fails if name not in LOCAL_CHECKS]
    qc["truncatable"] = ~qc["qc_pass"] & qc[[f"pass_{n}" for n in whole]].all(axis=1) & (qc["usable_frames"] >= 2)
    return qc


def apply_policy(table: pd.DataFrame, qc: pd.DataFrame, policy: str) -> pd.DataFrame:
    """The ingest ``table`` with the final ``status``, ``reason`` and ``n_frames_used`` after QC (``qc``:
    :func:`qc_table`) under ``policy`` (see :func:`run_qc`), in natural trajectory order."""
    failed = qc.loc[~qc["qc_pass"]]
    if policy == "fail" and len(failed):
        raise RuntimeError("qc.policy=fail and QC failed for: " + "; ".join(f"{r.trajectory_id}: {r.qc_reason}" for r in failed.itertuples()))
    merged = table.merge(qc[["trajectory_id", "qc_pass", "qc_reason", "truncatable", "usable_frames", "first_failing_time_fs"]],
                         on="trajectory_id", how="left")
    bad = (merged["status"] == "ok") & (merged["qc_pass"] == False)  # noqa: E712
    merged["n_frames_used"] = pd.to_numeric(merged["n_frames"], errors="coerce")
    if policy == "truncate":
        cut = bad & (merged["truncatable"] == True)  # noqa: E712
        merged.loc[cut, "n_frames_used"] = merged.loc[cut, "usable_frames"]
        # counts as integers: an unreadable trajectory's missing n_frames makes the merged column float
        merged.loc[cut, "reason"] = [f"QC (truncated: frames from {r.first_failing_time_fs:.2f} fs on dropped, {int(r.usable_frames)} "
                                     f"of {int(r.n_frames)} kept): {r.qc_reason}" for r in merged[cut].itertuples()]
        bad = bad & ~cut
    if policy in ("exclude", "truncate"):
        merged.loc[bad, "status"] = "excluded"
        merged.loc[bad, "reason"] = "QC: " + merged.loc[bad, "qc_reason"]
    else:
        merged.loc[bad, "reason"] = "QC (kept): " + merged.loc[bad, "qc_reason"]
    merged.loc[merged["status"] != "ok", "n_frames_used"] = np.nan
    merged = merged.drop(columns=["qc_pass", "qc_reason", "truncatable", "usable_frames", "first_failing_time_fs"])
    merged = merged.sort_values("trajectory_id", key=natural_rank, kind="stable").reset_index(drop=True)
    for col in ("n_frames", "n_frames_used", "n_atoms", "n_states", "n_hops", "final_state"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce").astype("Int64")
    return merged


INGEST_COUNT_COLUMNS = ("n_frames", "n_atoms", "n_states", "n_hops", "final_state")


def run_qc(store_paths, table_paths, qc_csv, trajectories_out, thresholds=None, policy: str = "exclude") -> pd.DataFrame:
    """QC every ingested trajectory and write ``qc.csv`` and the final ``trajectories.parquet`` (reads the
    batches, then :func:`qc_table` and :func:`apply_policy`).

    Parameters
    ----------
    store_paths, table_paths : lists of paths (one per batch)
    qc_csv : path            per trajectory (natural order), every check value and whether it passed
    trajectories_out : path  the ingest table with final ``status`` (ok/excluded) and ``reason``
    thresholds : dict        overrides of :data:`DEFAULT_THRESHOLDS`
        (``exclude_flags``: list of reader-flag prefixes that fail a trajectory, default
        :data:`DEFAULT_EXCLUDE_FLAGS`; ``exclude_copies``: whether a copy of an earlier run fails, default true)
    policy : {'exclude', 'truncate', 'keep', 'fail'}
        A failed check excludes the trajectory, is only reported, or stops the run. ``truncate`` keeps the
        frames before the first failure of a frame-local check (:data:`LOCAL_CHECKS`,
        :func:`first_failing_frame`) and excludes on the other checks; the table's ``n_frames_used`` says how
        many frames later stages read.
    """
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    exclude_flags = tuple(th.pop("exclude_flags", DEFAULT_EXCLUDE_FLAGS))
    exclude_copies = bool(th.pop("exclude_copies", _QC_DEFAULTS["exclude_copies"]))
    table = pd.concat([pd.read_csv(p, dtype={"trajectory_id": str, "reason": str, "flags": str, "final_label": str},
                                   keep_default_na=False) for p in table_paths], ignore_index=True)
    for column in INGEST_COUNT_COLUMNS:  # empty for an excluded run: a batch holding one read them as text ('801.0')
        if column in table:
            table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
    rows, symbols = [], {}
    for path in store_paths:
        with Store(path) as store:
            batch_rows, batch_symbols = store_checks(store, th, exclude_flags)
        rows += batch_rows
        symbols.update(batch_symbols)
    qc = qc_table(rows, symbols, th, exclude_copies).sort_values("trajectory_id", key=natural_rank, kind="stable").reset_index(drop=True)
    merged = apply_policy(table, qc, policy)
    Path(qc_csv).parent.mkdir(parents=True, exist_ok=True)
    qc.to_csv(qc_csv, index=False, float_format="%.6g")
    Path(trajectories_out).parent.mkdir(parents=True, exist_ok=True)
    merged.to_parquet(trajectories_out, index=False)
    log.info("QC: %d trajectories checked, %d failed (policy=%s), %d ok in total",
             len(qc), int((~qc["qc_pass"]).sum()), policy, int((merged["status"] == "ok").sum()))
    return qc
