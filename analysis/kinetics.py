"""Lifetimes: a delayed exponential fitted to a decaying population, with bootstrap intervals over trajectories.

Model (stated in the report as :data:`MODEL_TEXT`)::

    P(t) = c + (1 − c) · exp(−max(t − t0, 0) / τ)

τ is the lifetime after the delay t0 (fs); c is the plateau, the share that has not decayed by the end of the
run (fixed at 0 for a channel: every trajectory of a channel has its event). Fitted by least squares
(``scipy.optimize.curve_fit``) to the population on the time grid; the 95 % intervals come from refitting
``n_resamples`` resamples of the trajectories (drawn with replacement, seeded).

Two populations are fitted: the ensemble's initially populated state (from the time-resolved frames), and for
each channel the share of its trajectories that have not yet had their event (survival of the event time).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

log = logging.getLogger(__name__)

MODEL_TEXT = "P(t) = c + (1 − c)·exp(−max(t − t0, 0)/τ)"
N_RESAMPLES = 100
MIN_TRAJECTORIES = 3      # fewer trajectories: no fit (a lifetime from one or two events means nothing)
GRID_POINTS = 120


def decay(time_fs: np.ndarray, tau_fs: float, t0_fs: float, plateau: float = 0.0) -> np.ndarray:
    """The model population at ``time_fs``."""
    return plateau + (1.0 - plateau) * np.exp(-np.clip(time_fs - t0_fs, 0.0, None) / tau_fs)


def tau_words(tau_fs: float, spaced: bool = True) -> str:
    """'τ = 42 fs', or 'τ < 1 fs (a step at t0)' for a fit at the lower bound: a decay faster than one fs is a step."""
    eq = " = " if spaced else "="
    if tau_fs >= 1.0:
        return f"τ{eq}{tau_fs:.0f} fs"
    return f"τ{' < ' if spaced else '<'}1 fs" + (" (a step at t0)" if spaced else "")


def _fs(value: float) -> str:
    """A time to the fs, '0' for −0.4 (a fitted t0 a fraction of a step before 0 printed as '-0')."""
    text = f"{value:.0f}"
    return "0" if text == "-0" else text


@dataclass
class DecayFit:
    """A fitted decay and its 95 % bootstrap intervals (NaN when not fitted; ``note`` says why)."""

    what: str
    n_trajectories: int
    tau_fs: float = np.nan
    tau_fs_lo: float = np.nan
    tau_fs_hi: float = np.nan
    t0_fs: float = np.nan
    t0_fs_lo: float = np.nan
    t0_fs_hi: float = np.nan
    plateau: float = np.nan
    plateau_lo: float = np.nan
    plateau_hi: float = np.nan
    n_resamples: int = 0
    note: str = ""

    @property
    def fitted(self) -> bool:
        return bool(np.isfinite(self.tau_fs))

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """'τ = 42 fs (95 %: 35–50), t0 = 12 fs (8–15)'; a fit at τ < 1 fs is a step at t0 and says so."""
        if not self.fitted:
            return self.note or "not fitted"
        out = (f"{tau_words(self.tau_fs)} (95 %: {_fs(self.tau_fs_lo)}–{_fs(self.tau_fs_hi)}), "
               f"t0 = {_fs(self.t0_fs)} fs ({_fs(self.t0_fs_lo)}–{_fs(self.t0_fs_hi)})")
        if np.isfinite(self.plateau) and self.plateau_hi > 0.005:
            out += f", plateau c = {self.plateau:.2f} ({self.plateau_lo:.2f}–{self.plateau_hi:.2f})"
        return out


def fit_decay(time_fs: np.ndarray, population: np.ndarray, plateau: bool = True) -> tuple[float, float, float]:
    """Least-squares (τ, t0, c) of :func:`decay` to ``population`` (NaN entries ignored); c = 0 unless ``plateau``.

    Levenberg–Marquardt on unconstrained parameters (log τ, t0, logit c), so τ > 0 and 0 < c < 1 hold without
    the slower bounded solver."""
    t, p = np.asarray(time_fs, float), np.asarray(population, float)
    ok = np.isfinite(p)
    t, p = t[ok], p[ok]
    n_params = 3 if plateau else 2
    if len(t) <= n_params:  # one time point (single-frame runs): the solver would stop with a TypeError
        raise ValueError(f"{len(t)} time point{'s' if len(t) != 1 else ''} for {n_params} parameters")
    span = max(float(t.max() - t.min()), 1e-6)
    below = np.flatnonzero(p < 0.95)
    t0 = float(t[below[0]] if len(below) else t.min())
    c = float(np.clip(p[-1], 0.01, 0.95)) if plateau else 0.0
    e_fold = np.flatnonzero(p < c + (1 - c) / np.e)
    tau = max(float(t[e_fold[0]]) - t0 if len(e_fold) else span, 0.05 * span)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if plateau:
            def model(x, log_tau, start, logit_c):
                return decay(x, np.exp(log_tau), start, 1.0 / (1.0 + np.exp(-logit_c)))

            popt, _ = curve_fit(model, t, p, p0=[np.log(tau), t0, np.log(c / (1 - c))], method="lm", maxfev=2000)
            return float(np.exp(popt[0])), float(popt[1]), float(1.0 / (1.0 + np.exp(-popt[2])))
        popt, _ = curve_fit(lambda x, log_tau, start: decay(x, np.exp(log_tau), start), t, p, p0=[np.log(tau), t0],
                            method="lm", maxfev=2000)
        return float(np.exp(popt[0])), float(popt[1]), 0.0


def bootstrap_decay(time_fs: np.ndarray, indicator: np.ndarray, what: str, plateau: bool = True,
                    n_resamples: int = N_RESAMPLES, random_state: int = 0) -> DecayFit:
    """Fit the population ``nanmean(indicator, axis=0)`` and refit ``n_resamples`` resamples of its rows.

    Parameters
    ----------
    time_fs : ndarray (n_times,)
    indicator : ndarray (n_trajectories, n_times)
        1 where the trajectory is in the decaying population, 0 where not, NaN where it has ended.
    """
    indicator = np.asarray(indicator, float)
    n = len(indicator)
    out = DecayFit(what, n)
    if n < MIN_TRAJECTORIES:
        out.note = f"not fitted: {n} trajectories (needs {MIN_TRAJECTORIES})"
        return out
    n_leaving = int((indicator == 0).any(axis=1).sum())
    if n_leaving < MIN_TRAJECTORIES:  # 3 SHARC CH2S runs, one leaving MCH2 at 365 fs: 'τ < 1 fs (95 %: 0–10025)'
        out.note = f"not fitted: {n_leaving} of {n} trajectories leave{'s' if n_leaving == 1 else ''} it (needs {MIN_TRAJECTORIES})"
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns past the longest trajectory
        population = np.nanmean(indicator, axis=0)
        try:
            out.tau_fs, out.t0_fs, out.plateau = fit_decay(time_fs, population, plateau)
        except (RuntimeError, ValueError) as err:
            out.note = f"not fitted: {err}"
            return out
        rng = np.random.default_rng(random_state)
        rows = rng.integers(0, n, size=(n_resamples, n))
        samples = []
        for resampled in _resampled_means(indicator, rows):
            try:
                samples.append(fit_decay(time_fs, resampled, plateau))
            except (RuntimeError, ValueError):
                continue
    if samples:
        lo, hi = np.percentile(np.array(samples), [2.5, 97.5], axis=0)
        out.tau_fs_lo, out.t0_fs_lo, out.plateau_lo = lo
        out.tau_fs_hi, out.t0_fs_hi, out.plateau_hi = hi
    out.n_resamples = len(samples)
    return out


def _resampled_means(indicator: np.ndarray, rows: np.ndarray, max_elements: int = 4_000_000):
    """``nanmean(indicator[rows], axis=1)``, a few resamples at a time: the whole (n_resamples, n_trajectories,
    n_times) array is 320 MB for 2,000 trajectories, and grows with the ensemble."""
    per_chunk = max(1, max_elements // max(1, indicator.size))
    for start in range(0, len(rows), per_chunk):
        yield from np.nanmean(indicator[rows[start:start + per_chunk]], axis=1)


def time_grid(t_max_fs: float, n: int = GRID_POINTS) -> np.ndarray:
    """``n`` evenly spaced times from 0 to ``t_max_fs``."""
    return np.linspace(0.0, max(float(t_max_fs), 1e-6), n)


def survival(event_time_fs: np.ndarray, grid_fs: np.ndarray) -> np.ndarray:
    """(n_events, n_times): 1 while a trajectory has not had its event yet, 0 from then on."""
    return (grid_fs[None, :] < np.asarray(event_time_fs, float)[:, None]).astype(float)


MIXED_SPACING = 0.01  # relative spread of the trajectories' frame spacings above which they are put on one grid


def common_time_grid(frames: pd.DataFrame) -> pd.DataFrame:
    """``frames`` (trajectory_id, time_fs, ...) on one time grid when the trajectories' frames are spaced
    differently (runs written with 0.25 and 0.5 fs steps: the strided frames fall at 2.5 and 5 fs), else unchanged.

    The grid is the coarsest trajectory's median spacing; each trajectory keeps its first frame in each grid
    step, at the step's start time (never later than the frame). Otherwise every other population point would
    count only the finely written half of the ensemble."""
    if len(frames) < 2:
        return frames
    ordered = frames.sort_values(["trajectory_id", "time_fs"], kind="stable")
    step = ordered["time_fs"].diff().where(ordered["trajectory_id"].eq(ordered["trajectory_id"].shift()))
    spacing = step.groupby(ordered["trajectory_id"]).median().dropna()
    spacing = spacing[spacing > 0]
    if not len(spacing) or spacing.max() - spacing.min() <= MIXED_SPACING * spacing.max():
        return frames
    grid = float(spacing.max())
    snapped = ordered.assign(time_fs=np.floor(ordered["time_fs"].to_numpy(float) / grid + 1e-6) * grid)
    return snapped.drop_duplicates(["trajectory_id", "time_fs"], keep="first").sort_index()


def carry_final_states(frames: pd.DataFrame, finished) -> pd.DataFrame:
    """``frames`` (trajectory_id, time_fs, state columns) with each ``finished`` trajectory that ended before the
    ensemble's last time kept in its final state at the later times of the ensemble's grid (the frames' times).

    A run stopped once it had relaxed (SHARC ``killafter``: :func:`analysis.io.trajectory.stopped_after_relaxation`)
    is in the lowest state from then on; dropped from the count instead, it would leave the late populations to the
    trajectories still excited and lengthen every fitted lifetime. Trajectories cut by QC or a crash are not
    ``finished``."""
    finished = set(finished)
    if not finished or not len(frames):
        return frames
    grid = np.unique(frames["time_fs"].to_numpy(float))
    last = frames[frames["trajectory_id"].isin(finished)].sort_values("time_fs", kind="stable").groupby("trajectory_id").tail(1)
    n_after = len(grid) - np.searchsorted(grid, last["time_fs"].to_numpy(float), side="right")
    if not n_after.sum():
        return frames
    rows = last.loc[last.index.repeat(n_after)].copy()
    rows["time_fs"] = np.concatenate([grid[len(grid) - k:] for k in n_after])
    if "frame" in rows:
        rows["frame"] = -1  # not a frame of the trajectory
    return pd.concat([frames, rows], ignore_index=True)


def state_indicator(frames: pd.DataFrame, state: str) -> tuple[np.ndarray, np.ndarray]:
    """(time_fs, (n_trajectories, n_times)) of being in ``state`` from the time-resolved frames; NaN after a
    trajectory's last frame."""
    wide = frames.assign(inside=(frames["state_label"] == state).astype(float)).pivot_table(
        index="trajectory_id", columns="time_fs", values="inside", aggfunc="first")
    return wide.columns.to_numpy(float), wide.to_numpy(float)


def initial_state(frames: pd.DataFrame) -> str:
    """The state most trajectories start in."""
    first = frames.sort_values("time_fs").groupby("trajectory_id")["state_label"].first()
    return str(first.value_counts().index[0])


def ensemble_decay(frames: pd.DataFrame, n_resamples: int = N_RESAMPLES, random_state: int = 0) -> DecayFit:
    """Decay of the initially populated state over the ensemble (plateau free)."""
    if not len(frames):
        return DecayFit("ensemble", 0, note="not fitted: no frames")
    state = initial_state(frames)
    time_fs, ind = state_indicator(frames, state)
    return bootstrap_decay(time_fs, ind, f"{state} population (ensemble)", True, n_resamples, random_state)


def channel_lifetimes(assignments: pd.DataFrame, n_resamples: int = N_RESAMPLES, random_state: int = 0) -> pd.DataFrame:
    """Per transition and channel (unresolved included) the decay of the share of its trajectories still before
    their event (plateau 0): columns transition, channel and the fields of :class:`DecayFit`."""
    rows = []
    for (transition, channel), g in assignments.dropna(subset=["event_time_fs"]).groupby(["transition", "channel"], sort=True):
        t = g["event_time_fs"].to_numpy(float)
        grid = time_grid(t.max() * 1.05)
        fit = bootstrap_decay(grid, survival(t, grid), f"{transition} {channel}", False, n_resamples, random_state)
        rows.append({"transition": transition, "channel": channel, **fit.as_dict()})
    cols = ["transition", "channel", *DecayFit.__dataclass_fields__]
    return pd.DataFrame(rows, columns=cols)
