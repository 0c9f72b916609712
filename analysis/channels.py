"""The cluster stage: the channels of every transition (:class:`analysis.cluster.HierarchicalClustering` on its
own PCA scores) and the trust in each (:func:`analysis.stability.channel_stability`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from analysis.cluster import UNRESOLVED, HierarchicalClustering
from analysis.stability import STABLE_JACCARD, channel_stability

log = logging.getLogger(__name__)

ASSIGNMENT_COLUMNS = ["transition", "trajectory_id", "frame", "event_time_fs", "kind", "channel", "is_noise"]
STATS_COLUMNS = ["transition", "channel", "n_events", "stability", "share_percent_lo", "share_percent_hi", "tentative",
                 "n_bootstrap"]
NOT_ESTIMATOR_PARAMS = ("bootstrap", "stable_jaccard", "n_jobs", "directions")


def cluster_events(scores: pd.DataFrame, events: pd.DataFrame, params: dict, summary: dict | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Channels of every event, each transition clustered on its own PCA scores, with each channel's stability.

    Parameters
    ----------
    scores : DataFrame    the reduce stage's scores (transition, trajectory_id, frame, PC1…)
    events : DataFrame    the event table (transition, trajectory_id, frame, time_fs, kind)
    params : dict         :class:`HierarchicalClustering` parameters, plus ``bootstrap`` (resamples, default 100),
                          ``stable_jaccard`` (0.75) and ``n_jobs`` (1) for :func:`analysis.stability.channel_stability`,
                          and ``directions`` (True: events clustered by their direction from the summary's
                          ``fc_scores``)
    summary : dict        the reduce stage's per-transition summary; its ``n_components`` become level A's
                          ``density_components``, its ``fc_scores`` the ``origin``

    Returns
    -------
    assignments : DataFrame with :data:`ASSIGNMENT_COLUMNS`, in event-table order; events of a transition that
                  was not reduced (too few events) are ``unresolved``
    stats : DataFrame with :data:`STATS_COLUMNS`, one row per resolved channel
    """
    n_bootstrap = int(params.get("bootstrap", 100))
    stable = float(params.get("stable_jaccard", STABLE_JACCARD))
    est_params = {k: v for k, v in params.items() if k not in NOT_ESTIMATOR_PARAMS}
    directions = bool(params.get("directions", True))
    key = ["transition", "trajectory_id", "frame"]
    pcs = [c for c in scores.columns if c.startswith("PC")]
    found, stats = [pd.DataFrame(columns=key + ["channel", "is_noise"])], [pd.DataFrame(columns=STATS_COLUMNS)]
    for transition, group in scores.groupby("transition", sort=False):
        k = (summary or {}).get(transition, {}).get("n_components")
        x = group[pcs].dropna(axis=1, how="all").to_numpy()
        origin = (summary or {}).get(transition, {}).get("fc_scores") if directions else None
        if directions and origin is None:
            log.warning("%s: no Franck-Condon point (first frames) in the PCA summary: events clustered by position, "
                        "not by direction", transition)
        model = HierarchicalClustering(**{**est_params, "density_components": k, "origin": origin})
        model.fit(x)
        found.append(group[key].assign(channel=model.labels_, is_noise=model.is_noise_))
        counts = pd.Series(model.labels_).value_counts()
        if (model.labels_ == UNRESOLVED).all():
            log.warning("%s: density clustering found no cluster in %d events (min_cluster_size=%d): all unresolved",
                        transition, len(x), model.min_cluster_size_)
        log.info("clusters %s: %s; bootstrap (%d resamples) ...", transition, counts.to_dict(), n_bootstrap)
        st = channel_stability(model, x, model.labels_, n_bootstrap, model.random_state, stable, n_jobs=int(params.get("n_jobs", 1)))
        stats.append(st.assign(transition=transition, n_events=st["channel"].map(counts).astype(int))[STATS_COLUMNS])
        log.info("stability %s: %s", transition, dict(zip(st["channel"], st["stability"].round(3))))
    out = events[key + ["time_fs", "kind"]].rename(columns={"time_fs": "event_time_fs"})
    out = out.merge(pd.concat(found, ignore_index=True), on=key, how="left")
    out["channel"] = out["channel"].fillna(UNRESOLVED)
    out["is_noise"] = out["is_noise"].eq(True)
    stats = pd.concat(stats, ignore_index=True)
    for col in ("n_events", "stability", "share_percent_lo", "share_percent_hi", "n_bootstrap"):
        stats[col] = pd.to_numeric(stats[col])
    stats["tentative"] = stats["tentative"].astype(bool)
    return out[ASSIGNMENT_COLUMNS], stats


def run_cluster(scores_parquet, events_parquet, out_csv, params: dict, summary_json=None, stats_csv=None) -> pd.DataFrame:
    """Read scores, events (and the PCA summary), :func:`cluster_events`, write ``assignments.csv`` (one row per
    event) and the channel statistics (``stats_csv``)."""
    scores = pd.read_parquet(scores_parquet)
    events = pd.read_parquet(events_parquet, columns=["transition", "trajectory_id", "frame", "time_fs", "kind"])
    summary = json.loads(Path(summary_json).read_text(encoding="utf-8"))["transitions"] if summary_json else None
    out, stats = cluster_events(scores, events, params, summary)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False)
    if stats_csv:
        stats.to_csv(stats_csv, index=False, float_format="%.4f")
    return out
