"""Next calculations to run: the ensemble's geometries where the surrogate's committee disagrees most.

Active learning in one step: the frames where the committee (MLP ensemble, KRR subset models) disagrees most are
where a new quantum-chemistry point teaches the model most. Disagreement is each state's raw committee spread
over its median across the candidate frames (the largest over states): a state whose calibrated σ is a constant
floor (calibration found its spread uninformative) cannot rank frames, and one state's larger energy scale does
not take every slot. The frames are picked round-robin over the reaction channels (so one channel does not take
every slot), at least ``min_separation_fs`` apart within a trajectory (so five slots do not go to five
consecutive frames) and never the same geometry twice (runs from one initial condition), and written as XYZ files
with the predicted energies and σ.

Two steps, so that only the second waits for the channels: :func:`write_candidates` scores every candidate frame
with the committee (reading the frames and predicting is most of the work) in the surrogate's job, and
:func:`write_next_calculations` picks and writes once the clustering is done (it imports neither scikit-learn
nor SciPy). :func:`run_next_calculations` does both.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.io.store import Store, usable_frames
from analysis.io.text import format_xyz
from analysis.surrogate.frames import FrameSet, SurrogateSkipped, collect_frames

if TYPE_CHECKING:
    from analysis.surrogate.modelfile import SurrogateModel

log = logging.getLogger(__name__)


def trajectory_channels(assignments: pd.DataFrame) -> dict[str, str]:
    """Each trajectory's channel: ``transition channel`` of its first event, in the table's order."""
    if assignments is None or not len(assignments):
        return {}
    first = assignments.drop_duplicates("trajectory_id")
    return {tid: f"{tr} {ch}" for tid, tr, ch in zip(first["trajectory_id"], first["transition"], first["channel"].astype(str))}


def relative_disagreement(spread: np.ndarray) -> np.ndarray:
    """Per frame, the largest over states of the raw committee spread (n_frames, n_states) over that state's median
    spread across the frames (1.0: a typical frame). A state whose median spread is 0 (a committee that agrees on
    it almost everywhere) ranks the frames where it does disagree above all others."""
    spread = np.asarray(spread, dtype=float)
    if not spread.size:
        return np.zeros(len(spread))
    median = np.median(spread, axis=0)
    scaled = np.where(median > 0, spread / np.where(median > 0, median, 1.0), np.where(spread > 0, np.inf, 0.0))
    return np.nan_to_num(scaled.max(axis=1), posinf=np.finfo(float).max)


# two picks closer than this (RMSD after superposition) are one calculation: as close as frames ~1 fs apart in one
# trajectory (PyRAI2MD CH2NH2+: 0.014-0.03 Å at 0.5 fs, 0.03-0.06 Å at 1 fs, 0.14-0.34 Å at the 20 fs that one
# trajectory's picks keep apart); runs from one initial condition stay closer than this for their first ~40 fs, while
# distinct initial conditions of the real sets here lie 0.09-0.22 Å apart (first frames, pairwise minimum)
SAME_GEOMETRY_RMSD_ANGSTROM = 0.05

# a frame whose disagreement is below this (relative to the typical frame's 1) is one the committee reproduces to
# numerical precision: every member was trained on it (an interpolating kernel model). It teaches the model nothing,
# so it is never a next calculation. Pyrazine (5 trajectories, KRR chosen, α 1e-8): 402 of 997 frames scored
# 3e-8 to 1e-6, the others 0.01 and up; every KRR member had trained on TRAJ3, and two of ten picks were TRAJ3 frames
# at 0.000 (its channel's turn in the round-robin).
AGREED_DISAGREEMENT = 1e-3


def pick_next(sigma_score: np.ndarray, trajectory_id: np.ndarray, time_fs: np.ndarray, channel: np.ndarray, n: int,
              min_separation_fs: float = 20.0, coords_angstrom: np.ndarray | None = None) -> np.ndarray:
    """Indices of up to ``n`` frames: highest ``sigma_score`` first, channels taken in turn, frames of one
    trajectory at least ``min_separation_fs`` apart and, given ``coords_angstrom`` (n_frames, n_atoms, 3), no frame
    within :data:`SAME_GEOMETRY_RMSD_ANGSTROM` of one already picked: trajectories started from one initial
    condition are the same geometry for a while (PyRAI2MD CH2NH2+: three of ten picks were the three runs' identical
    first frames, two more 1e-5 Å apart at 30.5 fs, and with a 0.01 Å limit the next picks were the same
    geometries 0.5 fs on). A frame scored below :data:`AGREED_DISAGREEMENT` is never picked."""
    from analysis.symmetry import kabsch_rmsd

    def new_geometry(idx, chosen) -> bool:
        if coords_angstrom is None or not chosen:
            return True
        return bool(kabsch_rmsd(coords_angstrom[chosen], coords_angstrom[idx])[1].min() >= SAME_GEOMETRY_RMSD_ANGSTROM)

    order = np.argsort(-sigma_score, kind="stable")
    order = order[sigma_score[order] >= AGREED_DISAGREEMENT]
    queues = {}
    for idx in order:
        queues.setdefault(channel[idx], []).append(idx)
    channels = sorted(queues, key=lambda c: -sigma_score[queues[c][0]])
    chosen, taken = [], {}
    while len(chosen) < n and any(queues.values()):
        for c in channels:
            queue = queues[c]
            while queue:
                idx = queue.pop(0)
                times = taken.setdefault(trajectory_id[idx], [])
                if all(abs(time_fs[idx] - t) >= min_separation_fs for t in times) and new_geometry(idx, chosen):
                    times.append(time_fs[idx])
                    chosen.append(idx)
                    break
            if len(chosen) >= n:
                break
    return np.array(chosen, dtype=int)


@dataclass
class Candidates:
    """The frames the next calculations are picked from, with the committee's verdict on each: ``table``
    (trajectory_id, time_fs, then :meth:`SurrogateModel.table_from_raw`'s predicted energies, σ and domain columns),
    ``score`` (:func:`relative_disagreement`), ``coords_angstrom`` (n_frames, n_atoms, 3) of the model's atoms, the
    model's ``symbols`` and, for a model of part of the system, the whole system's ``system_symbols``; or only a
    ``reason`` why there are none."""

    table: pd.DataFrame
    score: np.ndarray
    coords_angstrom: np.ndarray
    symbols: list
    state_names: list
    system_symbols: list | None = None
    reason: str = ""

    @classmethod
    def none(cls, reason: str) -> "Candidates":
        return cls(pd.DataFrame(columns=["trajectory_id", "time_fs"]), np.zeros(0), np.zeros((0, 0, 3)), [], [], None, reason)

    def save(self, path) -> None:
        """One ``.npz`` of plain arrays (no pickle): ``col/<name>`` per table column, then the rest."""
        arrays = {f"col/{c}": _plain(self.table[c].to_numpy()) for c in self.table.columns}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays, score=self.score, coords_angstrom=self.coords_angstrom, symbols=np.array(self.symbols, dtype=str),
                 state_names=np.array(self.state_names, dtype=str), reason=np.array(self.reason),
                 system_symbols=np.array(self.system_symbols if self.system_symbols is not None else [], dtype=str),
                 has_system=np.array(self.system_symbols is not None))

    @classmethod
    def load(cls, path) -> "Candidates":
        with np.load(path, allow_pickle=False) as z:
            table = pd.DataFrame({name[4:]: z[name] for name in z.files if name.startswith("col/")})
            return cls(table, z["score"], z["coords_angstrom"], z["symbols"].tolist(), z["state_names"].tolist(),
                       z["system_symbols"].tolist() if bool(z["has_system"]) else None, str(z["reason"]))


def _plain(values: np.ndarray) -> np.ndarray:
    """An array ``np.load`` reads without pickle: text (object or pandas string columns) as fixed-width unicode."""
    return values.astype(str) if values.dtype == object else values


def committee_candidates(model: SurrogateModel, frames: FrameSet) -> Candidates:
    """Every frame of ``frames`` with the model's predictions, calibrated σ and raw-spread disagreement
    (:func:`relative_disagreement`); the channels are not needed yet (:func:`pick_candidates`)."""
    model.check_symbols(list(frames.symbols), "the ensemble's frames")
    x = model.features(frames.coords_angstrom)  # once: the predictions and the training-domain distance
    mean, spread = model.raw(frames.coords_angstrom, features=x)
    table = model.table_from_raw(x, mean, spread).drop(columns="frame")
    table.insert(0, "time_fs", frames.time_fs)
    table.insert(0, "trajectory_id", np.asarray(frames.trajectory_id, dtype=object))
    score = relative_disagreement(spread[:, : len(model.state_names)])
    selection = model.selection()
    return Candidates(table, score, frames.coords_angstrom, list(model.symbols), list(model.state_names),
                      list(selection.system_symbols) if selection is not None else None)


def pick_candidates(candidates: Candidates, channels: dict[str, str], n: int = 20, min_separation_fs: float = 20.0) -> pd.DataFrame:
    """The ``n`` frames of ``candidates`` to compute next (:func:`pick_next`, channels from ``channels``: trajectory →
    channel): rank, trajectory, time, channel, predicted energies, σ, the disagreement that ranked them and
    (``attrs["coords_angstrom"]``) the coordinates."""
    table, score = candidates.table, candidates.score
    tid, time_fs = table["trajectory_id"].to_numpy(object), table["time_fs"].to_numpy(float)
    channel = np.array([channels.get(t, "no event") for t in tid], dtype=object)
    picked = pick_next(score, tid, time_fs, channel, n, min_separation_fs, candidates.coords_angstrom)
    sigma_cols = [f"{name}_sigma_ev" for name in candidates.state_names]
    out = table.iloc[picked].reset_index(drop=True)
    out.insert(2, "channel", channel[picked])
    out.insert(0, "rank", np.arange(1, len(picked) + 1))
    out["max_state_sigma_ev"] = table[sigma_cols].max(axis=1).to_numpy()[picked]
    out["disagreement"] = score[picked]
    out.attrs["coords_angstrom"] = candidates.coords_angstrom[picked]
    return out


def next_calculations(model: SurrogateModel, frames: FrameSet, channels: dict[str, str], n: int = 20,
                      min_separation_fs: float = 20.0) -> pd.DataFrame:
    """The ``n`` frames of ``frames`` to compute next: :func:`committee_candidates`, then :func:`pick_candidates`."""
    return pick_candidates(committee_candidates(model, frames), channels, n, min_separation_fs)


def write_xyz(path, symbols, coords_angstrom, comment: str) -> None:
    """One XYZ frame (Å, 8 decimals)."""
    Path(path).write_text(format_xyz(coords_angstrom, symbols, [comment], decimals=8), encoding="utf-8")


def whole_system_coords(store_paths, table: pd.DataFrame) -> list[np.ndarray]:
    """Every atom's coordinates (Å) at each row's ``trajectory_id`` and ``time_fs`` (the frame nearest that time)."""
    wanted: dict[str, list[tuple[int, float]]] = {}
    for k, (tid, t) in enumerate(zip(table["trajectory_id"], table["time_fs"])):
        wanted.setdefault(tid, []).append((k, float(t)))
    out: list = [None] * len(table)
    for path in store_paths:
        with Store(path) as store:
            for tid in sorted(set(store.ids) & set(wanted)):
                times = store.array(tid, "time_fs")
                for k, t in wanted[tid]:
                    out[k] = store.rows(tid, "coords_angstrom", int(np.argmin(np.abs(times - t))))
    return out


def write_candidates(model_dir, store_paths, trajectories_parquet, out_npz, n: int = 20, max_frames: int = 50000,
                     random_state: int = 0) -> Candidates:
    """Write ``out_npz`` (:class:`Candidates`): the committee's verdict on every frame of the ok trajectories up to
    ``max_frames`` (beyond, every k-th frame of each trajectory, k = ⌈frames / max_frames⌉: a large ensemble is read
    thinned, not whole; picks are ≥ 20 fs apart anyway), or the reason there is none. Needs the model, not the
    channels, so the workflow runs it in the surrogate's job, beside the clustering; never raises."""
    if n <= 0:
        candidates = Candidates.none("switched off (surrogate.next_calculations: 0)")
    elif not (Path(model_dir) / "model.json").exists():
        candidates = Candidates.none("no surrogate model (see metrics.json)")
    else:
        try:
            from analysis.surrogate.modelfile import load_model  # scikit-learn and SciPy: not for the picking job

            model = load_model(model_dir)
            used = usable_frames(trajectories_parquet)
            stride = max(1, int(np.ceil(sum(used.values()) / max_frames)))
            frames = collect_frames(store_paths, used, stride, max_frames, random_state, atoms=model.selection())
            candidates = committee_candidates(model, frames)
        except SurrogateSkipped as exc:
            candidates = Candidates.none(str(exc))
        except Exception as exc:  # noqa: BLE001 - the channels report must not be lost to this optional product
            log.exception("next-calculation candidates failed")
            candidates = Candidates.none(f"failed ({type(exc).__name__}: {exc}); the traceback is in the surrogate log")
    candidates.save(out_npz)
    return candidates


def run_next_calculations(model_dir, store_paths, trajectories_parquet, assignments_csv, out_dir, n: int = 20,
                          max_frames: int = 50000, random_state: int = 0) -> pd.DataFrame:
    """:func:`write_candidates` (into ``out_dir/candidates.npz``), then :func:`write_next_calculations`: both steps
    in one call."""
    out_dir = Path(out_dir)
    write_candidates(model_dir, store_paths, trajectories_parquet, out_dir / "candidates.npz", n, max_frames, random_state)
    return write_next_calculations(out_dir / "candidates.npz", store_paths, assignments_csv, out_dir, n)


def write_next_calculations(candidates_npz, store_paths, assignments_csv, out_dir, n: int = 20) -> pd.DataFrame:
    """Write ``out_dir/next_NN_<trajectory>_<time>fs.xyz`` and ``out_dir/index.csv`` from the :class:`Candidates` of
    ``candidates_npz`` (:func:`write_candidates`) and the channels of ``assignments_csv``; a README.txt saying why
    when there are none. Never raises."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    empty = pd.DataFrame(columns=["rank", "trajectory_id", "time_fs", "channel", "file"])

    def none_because(reason: str) -> pd.DataFrame:
        empty.to_csv(out_dir / "index.csv", index=False)
        (out_dir / "README.txt").write_text(f"No next calculations: {reason}.\n", encoding="utf-8")
        return empty

    try:
        candidates = Candidates.load(candidates_npz)
        if candidates.reason:
            return none_because(candidates.reason)
        return _write_next_calculations(candidates, store_paths, assignments_csv, out_dir, n)
    except Exception as exc:  # noqa: BLE001 - the channels report must not be lost to this optional product
        log.exception("next calculations failed")
        return none_because(f"failed ({type(exc).__name__}: {exc}); the traceback is in the next_calculations log")


def _write_next_calculations(candidates: Candidates, store_paths, assignments_csv, out_dir: Path, n: int) -> pd.DataFrame:
    assignments = pd.read_csv(assignments_csv, dtype={"trajectory_id": str}) if Path(assignments_csv).exists() else None
    table = pick_candidates(candidates, trajectory_channels(assignments), n)
    files = []
    energy_cols = [f"{s}_ev" for s in candidates.state_names]
    symbols, coords_of, whole = candidates.symbols, table.attrs["coords_angstrom"], ""
    if candidates.system_symbols is not None:  # a QM/MM run's next calculation needs the environment its QM region sat in
        symbols, coords_of = candidates.system_symbols, whole_system_coords(store_paths, table)
        whole = f" (whole system; the model's atoms are {len(candidates.symbols)} of them: features.atoms)"
    for row, coords in zip(table.itertuples(index=False), coords_of):
        name = f"next_{row.rank:02d}_{row.trajectory_id}_{row.time_fs:g}fs.xyz"
        predicted = " ".join(f"{c[:-3]}={getattr(row, c):.4f}±{getattr(row, c[:-3] + '_sigma_ev'):.4f}" for c in energy_cols)
        write_xyz(out_dir / name, symbols, coords, f"{row.trajectory_id} t={row.time_fs:g} fs channel={row.channel} "
                  f"predicted(eV) {predicted}{whole}")
        files.append(name)
    table["file"] = files
    table.to_csv(out_dir / "index.csv", index=False, float_format="%.5f")
    (out_dir / "README.txt").write_text(
        "Geometries where the surrogate's committee disagrees most (each state's committee spread over its median\n"
        "across the frames, the largest over states; energies ± calibrated 1σ in eV), round-robin over channels;\n"
        f"frames the committee reproduces exactly (disagreement below {AGREED_DISAGREEMENT:g}: every member trained on them) are\n"
        "never picked.\n"
        "Compute their energies with your electronic-structure method and add them to the training data.\n"
        + json.dumps({"n": int(len(table)), "candidates": int(len(candidates.table))}) + "\n", encoding="utf-8")
    log.info("next calculations: %d geometries, largest σ %.3f eV", len(table), table["max_state_sigma_ev"].max() if len(table) else np.nan)
    return table
