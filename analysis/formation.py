"""Formation time: when a trajectory commits to its channel, from the time-resolved features.

For each transition, every resolved channel has a centroid: the mean of its events' features, each feature
divided by its family's natural unit (as the PCA sees them). A trajectory's formation time is the first
time-resolved frame from which every later frame, up to and including its event, lies nearer its own
channel's centroid than any other's. A trajectory whose event itself lies nearer another centroid never
commits (NaN). The resolution is the time-resolved stride (``features.frame_stride`` output steps).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.cluster import UNRESOLVED
from analysis.features.internal import family_scale

log = logging.getLogger(__name__)

FORMATION_COLUMNS = ["transition", "trajectory_id", "channel", "event_time_fs", "formation_time_fs", "lead_time_fs"]


def _divisors(columns: list[str], scale=None) -> np.ndarray:
    """Each column's divisor: ``scale[column]`` (the event PCA's, from ``loadings.csv``) where given, else its
    family's natural unit."""
    natural = family_scale(columns)
    if scale is None:
        return natural
    given = pd.Series(scale, dtype=float).reindex(columns).to_numpy(dtype=float)
    return np.where(np.isfinite(given) & (given > 0), given, natural)


def nearest_centroid(x: np.ndarray, centroids: np.ndarray, scale: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """Index of the centroid nearest to every row of ``x / scale`` (NaN features count as 0), block by block:
    memory grows with ``chunk`` × features, not with rows × centroids × features (10⁶ frames in bounded memory).

    ``centroids`` are already scaled. |x − c|² = |x|² − 2 x·c + |c|², and |x|² is the same for every centroid.
    """
    out = np.empty(len(x), dtype=np.intp)
    c_sq = (centroids**2).sum(axis=1)
    for start in range(0, len(x), chunk):
        block = np.nan_to_num(x[start:start + chunk] / scale)
        out[start:start + chunk] = np.argmin(c_sq[None, :] - 2.0 * block @ centroids.T, axis=1)
    return out


def resolved_events(events: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """The events with their channel from ``assignments``, unresolved ones left out, in the events' order."""
    key = ["trajectory_id", "frame"]
    ev = events.merge(assignments[key + ["channel"]], on=key)
    return ev[ev["channel"] != UNRESOLVED]


def formation_times(events: pd.DataFrame, frames: pd.DataFrame, assignments: pd.DataFrame, columns: list[str],
                    trajectories=None, scale=None) -> pd.DataFrame:
    """Formation time of every resolved event of one transition.

    Parameters
    ----------
    events : DataFrame      the transition's event rows (trajectory_id, frame, time_fs, features)
    frames : DataFrame      time-resolved rows (trajectory_id, time_fs, features) of the same trajectories
    assignments : DataFrame the transition's rows of ``assignments.csv``
    columns : list of str   the feature columns the transition's PCA used
    trajectories : iterable of str, optional
        only these trajectories' formation times (the centroids still come from every event): ``frames`` then
        need hold only them, so an ensemble is done batch by batch
    scale : Series or dict, optional
        divisor of each column, as the transition's event PCA scaled it (default: the family's natural unit)

    Returns
    -------
    DataFrame with :data:`FORMATION_COLUMNS` (without ``transition``); ``lead_time_fs`` = event − formation.
    """
    ev = resolved_events(events, assignments)
    columns = [c for c in columns if c in ev.columns and c in frames.columns]
    if ev.empty or not columns or ev["channel"].nunique() < 2:
        return pd.DataFrame(columns=FORMATION_COLUMNS[1:])
    channels = sorted(ev["channel"].unique())
    divisors = _divisors(columns, scale)
    x_ev = ev[columns].to_numpy(dtype=float) / divisors
    centroids = np.array([np.nanmean(x_ev[(ev["channel"] == c).to_numpy()], axis=0) for c in channels])
    # each trajectory's channel and event time: its last event of the transition, in the order of first appearance
    own = ev.drop_duplicates("trajectory_id", keep="last").set_index("trajectory_id").loc[pd.unique(ev["trajectory_id"])]
    if trajectories is not None:
        own = own[own.index.isin(set(trajectories))]
        ev = ev[ev["trajectory_id"].isin(own.index)]
    fr = frames.loc[frames["trajectory_id"].isin(own.index), ["trajectory_id", "time_fs", *columns]]
    fr = fr[fr["time_fs"].to_numpy() < fr["trajectory_id"].map(own["time_fs"]).to_numpy()]
    path = pd.concat([fr, ev[["trajectory_id", "time_fs", *columns]]], ignore_index=True)
    del fr
    nearest = nearest_centroid(path[columns].to_numpy(dtype=float), np.nan_to_num(centroids), divisors)
    own_index = own["channel"].map({c: k for k, c in enumerate(channels)})
    path = path[["trajectory_id", "time_fs"]].assign(ok=nearest == path["trajectory_id"].map(own_index).to_numpy())
    path = path.sort_values(["trajectory_id", "time_fs"], kind="stable")
    last_bad = path[~path["ok"]].groupby("trajectory_id")["time_fs"].max()
    after = path.assign(last_bad=path["trajectory_id"].map(last_bad).fillna(-np.inf))
    formation = after[after["time_fs"] > after["last_bad"]].groupby("trajectory_id")["time_fs"].min()
    out = pd.DataFrame({"trajectory_id": own.index.to_numpy(), "channel": own["channel"].to_numpy(),
                        "event_time_fs": own["time_fs"].to_numpy()})
    out["formation_time_fs"] = out["trajectory_id"].map(formation)
    out["lead_time_fs"] = out["event_time_fs"] - out["formation_time_fs"]
    return out


def run_formation(events_parquet, frames_parquets, assignments_csv, loadings_csv, out_csv) -> pd.DataFrame:
    """Formation times of every transition's resolved events → ``formation.csv`` (:data:`FORMATION_COLUMNS`).

    The time-resolved tables are read one batch at a time, only the columns some transition's PCA used, so
    memory grows with a batch, not with the ensemble; rows come out in the order of the unbatched computation.
    """
    events = pd.read_parquet(events_parquet)
    paths = [frames_parquets] if isinstance(frames_parquets, (str, Path)) else list(frames_parquets)
    assignments = pd.read_csv(assignments_csv, dtype={"trajectory_id": str, "transition": str, "channel": str})
    loadings = pd.read_csv(loadings_csv)
    by_transition = [(t, g, loadings.loc[loadings["transition"] == t, "feature"].tolist(), events[events["transition"] == t])
                     for t, g in assignments.groupby("transition", sort=False)]
    scales = {t: (loadings[loadings["transition"] == t].set_index("feature")["scale"] if "scale" in loadings else None)
              for t, *_ in by_transition}
    wanted = {c for _, _, cols, _ in by_transition for c in cols} - {"trajectory_id", "time_fs"}
    # an empty batch (no trajectory hashed to it) holds the state columns only: each file's own schema
    schemas = [pq.read_schema(p).names for p in paths]
    columns = ["trajectory_id", "time_fs"] + sorted({c for names in schemas for c in names if c in wanted})
    found: dict[str, list[pd.DataFrame]] = {t: [] for t, *_ in by_transition}
    done: set[str] = set()
    for path, names in [*zip(paths, schemas), (None, [])]:  # None: events without time-resolved frames anywhere
        if path is None:
            frames = pd.DataFrame({c: pd.Series(dtype=object if c == "trajectory_id" else float) for c in columns})
            ids = set(events["trajectory_id"]) - done
        else:
            frames = pd.read_parquet(path, columns=[c for c in columns if c in names])
            ids = set(frames["trajectory_id"])
        done |= ids
        for transition, group, cols, ev in by_transition:
            found[transition].append(formation_times(ev, frames, group, cols, trajectories=ids, scale=scales[transition]))
    parts = [pd.DataFrame(columns=FORMATION_COLUMNS)]
    for transition, group, _, ev in by_transition:
        batches = [got for got in found[transition] if len(got)]
        if batches:
            order = {t: k for k, t in enumerate(pd.unique(resolved_events(ev, group)["trajectory_id"]))}
            got = pd.concat(batches, ignore_index=True).sort_values("trajectory_id", key=lambda t: t.map(order), kind="stable")
            parts.append(got.assign(transition=transition)[FORMATION_COLUMNS])
            log.info("formation %s: median lead time %.1f fs over %d events (%d never commit)", transition,
                     got["lead_time_fs"].median(), len(got), int(got["formation_time_fs"].isna().sum()))
    out = pd.concat([p for p in parts if len(p) or p is parts[0]], ignore_index=True)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False, float_format="%.3f")
    return out
