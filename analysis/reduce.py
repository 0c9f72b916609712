"""PCA of the event features, per transition, with loadings that say which motion each component is."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA

from analysis.features.internal import clustering_columns, family_scale

log = logging.getLogger(__name__)

MIN_EVENTS = 3
THERMAL_T_MAX_FS = 10.0  # frames up to this time (fs) measure each feature's thermal spread
THERMAL_FLOOR = 0.25  # ... never below this fraction of the family's natural unit


def thermal_scale(frames: pd.DataFrame, t_max_fs: float = THERMAL_T_MAX_FS) -> pd.Series:
    """Standard deviation of every feature column over the frames at ``time_fs`` ≤ ``t_max_fs`` of all
    trajectories: the spread of the initial conditions (thermal and zero-point motion) before any channel forms,
    in the column's own unit. NaN for a column without two such values."""
    cols = [c for c in frames.columns if "[" in c]
    early = frames.loc[frames["time_fs"] <= t_max_fs, cols].apply(pd.to_numeric, errors="coerce")
    return early.std(ddof=0).where(early.notna().sum() >= 2)


def read_early_frames(frames_parquets, t_max_fs: float = THERMAL_T_MAX_FS) -> pd.DataFrame:
    """The time-resolved feature batches (parquet) read once for what the reduce stage needs of them: every frame
    at ``time_fs`` ≤ ``t_max_fs`` (the thermal spread, :func:`thermal_scale`) and every trajectory's first frame
    (frame 0, the Franck–Condon region the channels leave from, whatever its time); empty without files or frames."""
    from analysis.io.paths import natural_rank

    parts = [pd.read_parquet(p, filters=[[("time_fs", "<=", t_max_fs)], [("frame", "==", 0)]]) for p in frames_parquets or []]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    # in natural trajectory order, as the events: batches are hash-assigned, and sums over frames in batch order
    # differed in the last digit between 1 and 4 batches (the scores by 6e-15)
    early = pd.concat(parts, ignore_index=True)
    return early.sort_values("trajectory_id", key=natural_rank, kind="stable").reset_index(drop=True)


def franck_condon_scores(model: "EventPCA", initial: pd.DataFrame) -> list[float] | None:
    """Scores (every stored component) of the mean first-frame features in a fitted :class:`EventPCA`; None when
    the first frames lack a column the PCA uses."""
    if not len(initial) or any(c not in initial.columns for c in model.columns_):
        return None
    mean = initial[model.columns_].apply(pd.to_numeric, errors="coerce").mean()
    if mean.isna().any():
        return None
    return [float(v) for v in model.transform(mean.to_frame().T)[0]]


class EventPCA(TransformerMixin, BaseEstimator):
    """Standardize the numeric feature columns of an event table, then PCA.

    Parameters
    ----------
    n_components : int or float
        Number of components, or the fraction of variance to keep (0 < x < 1).
    max_components : int
        Upper bound when ``n_components`` is a fraction.
    scaling : {'thermal', 'family', 'standard'}
        'family': divide each centred column by its family's natural unit
        (:data:`~analysis.features.internal.FAMILY_SCALE`: 0.1 Å for bonds and puckering heights, 10° for
        angles, out-of-plane and pyramidalization, 1 for dihedral sin/cos) — a motion weighs by how large it is
        chemically, and a column that only carries thermal noise is not blown up to unit variance. 'thermal':
        by the column's thermal spread ``noise_sd`` (:func:`thermal_scale`), at least :data:`THERMAL_FLOOR` of
        the natural unit (the natural unit where ``noise_sd`` lacks the column) — a motion weighs by how far it
        stands out of the thermal motion of the same coordinate, so noisy C–H bonds and angles do not bury a
        puckering or a torsion. 'standard': by its standard deviation over the events.
    noise_sd : Series or None
        Thermal spread of each column (index: column names), for ``scaling='thermal'``.

    Attributes
    ----------
    columns_ : list of str        feature columns used (constant columns dropped)
    center_, scale_ : ndarray      column means and divisors
    n_components_ : int           components that carry ``n_components`` of the variance (the channels' level A)
    pca_ : PCA                    fitted with up to ``max_components`` (sub-levels re-project the cluster on all)
    loadings_ : DataFrame         (n_features, pca_.n_components_) component weights
    """

    def __init__(self, n_components=0.9, max_components: int = 10, scaling: str = "family", noise_sd=None):
        self.n_components = n_components
        self.max_components = max_components
        self.scaling = scaling
        self.noise_sd = noise_sd

    def fit(self, features: pd.DataFrame, y=None) -> "EventPCA":
        cols = clustering_columns(c for c in features.columns if "[" in c)
        x = features[cols].to_numpy(dtype=float)
        # Constant columns (e.g. a rigid bond) carry no information and would divide by zero.
        keep = x.std(axis=0) > 1e-12 if len(x) else np.zeros(len(cols), dtype=bool)
        self.columns_ = [c for c, k in zip(cols, keep) if k]
        if len(x) < 2:
            raise ValueError(f"EventPCA: {len(x)} event(s); a PCA needs at least 2")
        if not self.columns_:
            raise ValueError("EventPCA: no feature varies between the events")
        x = x[:, keep]
        self.center_ = x.mean(axis=0)
        if self.scaling == "family":
            self.scale_ = family_scale(self.columns_)
        elif self.scaling == "thermal":
            natural = family_scale(self.columns_)
            noise = pd.Series(self.noise_sd if self.noise_sd is not None else {}, dtype=float)
            noise = noise.reindex(self.columns_).to_numpy(dtype=float)
            self.scale_ = np.where(np.isfinite(noise), np.maximum(noise, THERMAL_FLOOR * natural), natural)
        elif self.scaling == "standard":
            self.scale_ = x.std(axis=0)
        else:
            raise ValueError(f"reduce.scaling: {self.scaling!r}; expected 'thermal', 'family' or 'standard'")
        z = (x - self.center_) / self.scale_
        n_max = max(1, min(self.max_components, z.shape[0] - 1, z.shape[1]))
        full = PCA(n_components=n_max, svd_solver="full").fit(z)  # exact SVD: deterministic, no random_state
        if isinstance(self.n_components, float) and 0 < self.n_components < 1:
            k = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), self.n_components) + 1)
        else:
            k = int(self.n_components)
        self.n_components_ = max(1, min(k, n_max))
        self.pca_ = full
        names = [f"PC{i + 1}" for i in range(n_max)]
        self.loadings_ = pd.DataFrame(self.pca_.components_.T, index=self.columns_, columns=names)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        return self.pca_.transform((features[self.columns_].to_numpy(dtype=float) - self.center_) / self.scale_)

    def top_loadings(self, component: int, n: int = 3) -> list[tuple[str, float]]:
        col = self.loadings_.iloc[:, component]
        idx = col.abs().sort_values(ascending=False).index[:n]
        return [(i, float(col[i])) for i in idx]


TOP_LOADINGS = 8  # stored per component: the report shows the first three that name different motions


def too_few_events(transition: str, events: pd.DataFrame, min_events: int = MIN_EVENTS) -> str:
    """Plain words for a transition with too few events: 'S1→S0: 1 event (TRAJ7 at 9.2 fs); at least 3 …'."""
    listed = ", ".join(f"{r.trajectory_id} at {r.time_fs:.1f} fs" for r in events.head(5).itertuples())
    more = ", …" if len(events) > 5 else ""
    noun = "event" if len(events) == 1 else "events"
    return (f"{transition}: {len(events)} {noun}" + (f" ({listed}{more})" if len(events) else "")
            + f"; at least {min_events} are needed for channels")


def reduce_events(events: pd.DataFrame, n_components=0.9, max_components: int = 10,
                  min_events: int = MIN_EVENTS, scaling: str = "family", noise_sd=None,
                  initial: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """PCA of each transition's events on its own.

    Parameters
    ----------
    events : DataFrame
        Event table of the features stage (``transition`` column + features).
    min_events : int
        Transitions with fewer events are not reduced; the summary says why in words.
    scaling, noise_sd : see :class:`EventPCA`.
    initial : DataFrame or None
        Features of the trajectories' first frames (frame 0 of :func:`read_early_frames`); their mean's scores become
        the summary's ``fc_scores`` (the origin of the channels' directions, :class:`analysis.cluster.HierarchicalClustering`).

    Returns
    -------
    scores : DataFrame   transition, trajectory_id, frame, time_fs, PC1… (up to ``max_components``; the first
                         ``summary[t]['n_components']`` carry ``n_components`` of the variance)
    loadings : DataFrame transition, feature, scale (the divisor of the centred column), PC1…
    summary : dict       per transition: n_events, n_features, explained_variance_ratio (of the components kept) and
                         explained_variance_ratio_stored (of every stored one), top_loadings, fc_scores
                         (None without first frames) — or ``skipped`` (the reason) and the events it had
    """
    scores, loadings, summary = [], [], {}
    for transition, group in events.groupby("transition", sort=False):
        group = group.reset_index(drop=True)
        if len(group) < min_events:
            summary[transition] = {"n_events": len(group), "skipped": too_few_events(transition, group, min_events)}
            continue
        try:
            model = EventPCA(n_components, max_components, scaling, noise_sd).fit(group)
        except ValueError as exc:
            summary[transition] = {"n_events": len(group), "skipped": f"{transition}: {exc}"}
            continue
        sc = pd.DataFrame(model.transform(group), columns=model.loadings_.columns)
        scores.append(pd.concat([group[["transition", "trajectory_id", "frame", "time_fs"]], sc], axis=1))
        loadings.append(model.loadings_.rename_axis("feature").reset_index().assign(transition=transition, scale=model.scale_))
        summary[transition] = {
            "n_events": int(len(group)), "n_features": len(model.columns_), "n_components": int(model.n_components_),
            "n_components_stored": int(model.pca_.n_components_),
            "explained_variance_ratio": [float(v) for v in model.pca_.explained_variance_ratio_[: model.n_components_]],
            "explained_variance_ratio_stored": [float(v) for v in model.pca_.explained_variance_ratio_],
            "top_loadings": {f"PC{i + 1}": model.top_loadings(i, TOP_LOADINGS) for i in range(model.n_components_)},
            "fc_scores": franck_condon_scores(model, initial if initial is not None else pd.DataFrame()),
        }
        log.info("PCA %s: %d events x %d features -> %d components (%.1f %% variance; %d stored)", transition, len(group),
                 len(model.columns_), model.n_components_,
                 100 * float(np.sum(model.pca_.explained_variance_ratio_[: model.n_components_])), model.pca_.n_components_)
    for transition, s in summary.items():
        if "skipped" in s:
            log.warning("no channels for %s", s["skipped"])
    head = ["transition", "trajectory_id", "frame", "time_fs"]
    scores_df = pd.concat(scores, ignore_index=True) if scores else pd.DataFrame(columns=head + ["PC1"])
    loadings_df = pd.concat(loadings, ignore_index=True) if loadings else pd.DataFrame(columns=["feature", "scale", "PC1", "transition"])
    loadings_df = loadings_df[["transition", "feature", "scale", *[c for c in loadings_df.columns if c.startswith("PC")]]]
    return scores_df, loadings_df, summary


def run_reduce(events_parquet, scores_out, loadings_out, summary_out, n_components=0.9, max_components=10,
               min_events: int = MIN_EVENTS, scaling: str = "family", frames_parquets=()) -> dict:
    """Read the event table (and the first frames of the time-resolved batches ``frames_parquets``: the thermal
    spread for ``scaling='thermal'``, the Franck–Condon point), :func:`reduce_events`, write scores (parquet),
    loadings (CSV) and summary (JSON)."""
    events = pd.read_parquet(events_parquet)
    early = read_early_frames(frames_parquets)
    noise_sd = (thermal_scale(early) if len(early) else pd.Series(dtype=float)) if scaling == "thermal" else None
    if scaling == "thermal" and not len(noise_sd):
        log.warning("reduce.scaling thermal: no frames up to %.0f fs to measure the thermal spread; natural units used",
                    THERMAL_T_MAX_FS)
    initial = early[early["frame"] == 0] if len(early) else early
    scores, loadings, summary = reduce_events(events, n_components, max_components, min_events, scaling, noise_sd, initial)
    Path(scores_out).parent.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(scores_out, index=False)
    loadings.to_csv(loadings_out, index=False, float_format="%.6f")
    Path(summary_out).write_text(json.dumps({"min_events": min_events, "scaling": scaling, "transitions": summary}, indent=1,
                                            ensure_ascii=False), encoding="utf-8")
    return summary
