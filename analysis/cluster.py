"""Hierarchical clustering of events (Zhu, Peng, Kang, Xu, Lan, PCCP 2022, d2cp03323b).

Level A: density-based (HDBSCAN or DBSCAN) on the PCA scores. Levels B, C, ...: agglomerative (Ward)
inside each cluster of the level above, split into k = 2..max_subclusters only when the best split's
silhouette reaches ``min_silhouette`` — thermal noise alone is not split. Labels read ``A1B2``: level
letter + 1-based index, indices ordered by cluster size (largest first).
"""

from __future__ import annotations

import logging
import string
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, AgglomerativeClustering
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

log = logging.getLogger(__name__)


def _order_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0.. by decreasing size (ties: first occurrence); -1 stays -1."""
    out = np.full_like(labels, -1)
    ids = [c for c in np.unique(labels) if c >= 0]
    first = {c: int(np.flatnonzero(labels == c)[0]) for c in ids}
    order = sorted(ids, key=lambda c: (-(labels == c).sum(), first[c]))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


class HierarchicalClustering:
    """Density-based top level, agglomerative sub-levels.

    Parameters
    ----------
    method : {'hdbscan', 'dbscan'}
    min_cluster_size : int       HDBSCAN min_cluster_size / DBSCAN min_samples
    eps : float                  DBSCAN radius (in PCA-score units)
    levels : int                 number of levels (1 = density clustering only)
    max_subclusters : int
    min_silhouette : float
    noise : {'nearest', 'keep'}  noise points join the cluster of their nearest clustered point, or stay 'noise'
    random_state : int

    Attributes
    ----------
    labels_ : ndarray of str     e.g. 'A1B2', or 'noise'
    top_labels_ : ndarray of int level-A cluster (−1 noise)
    is_noise_ : ndarray of bool  the density step called the point noise
    """

    def __init__(self, method="hdbscan", min_cluster_size=5, eps=0.5, levels=2, max_subclusters=4,
                 min_silhouette=0.5, noise="nearest", random_state=0):
        self.method = method
        self.min_cluster_size = min_cluster_size
        self.eps = eps
        self.levels = levels
        self.max_subclusters = max_subclusters
        self.min_silhouette = min_silhouette
        self.noise = noise
        self.random_state = random_state

    def _density(self, x):
        if self.method == "hdbscan":
            import hdbscan

            model = hdbscan.HDBSCAN(min_cluster_size=max(2, int(self.min_cluster_size)))
            return model.fit_predict(x)
        if self.method == "dbscan":
            return DBSCAN(eps=self.eps, min_samples=int(self.min_cluster_size)).fit_predict(x)
        raise ValueError(f"cluster.method: unknown method {self.method!r}; expected hdbscan or dbscan")

    def _split(self, x):
        """Best agglomerative split of x, or all zeros."""
        n = len(x)
        best, best_score = np.zeros(n, dtype=int), -1.0
        for k in range(2, min(self.max_subclusters, n - 1) + 1):
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
            if np.min(np.bincount(labels)) < 2:
                continue
            score = silhouette_score(x, labels)
            if score > best_score:
                best, best_score = labels, score
        if best_score < self.min_silhouette:
            return np.zeros(n, dtype=int)
        return _order_by_size(best)

    def fit(self, x: np.ndarray) -> "HierarchicalClustering":
        x = np.asarray(x, dtype=float)
        n = len(x)
        top = self._density(x) if n >= 2 else np.zeros(n, dtype=int)
        self.is_noise_ = top < 0
        if (top < 0).all():
            log.warning("density clustering found no cluster in %d points (min_cluster_size=%s): "
                        "all events form one channel, flagged is_noise", n, self.min_cluster_size)
            top = np.zeros(n, dtype=int)
        elif self.noise == "nearest" and (top < 0).any():
            core = np.flatnonzero(top >= 0)
            nn = NearestNeighbors(n_neighbors=1).fit(x[core])
            _, idx = nn.kneighbors(x[top < 0])
            top[top < 0] = top[core[idx[:, 0]]]
        top = _order_by_size(top)
        self.top_labels_ = top
        labels = np.array([("noise" if t < 0 else f"A{t + 1}") for t in top], dtype=object)
        groups = {lab: np.flatnonzero(labels == lab) for lab in np.unique(labels) if lab != "noise"}
        for level in range(1, self.levels):
            letter = string.ascii_uppercase[level]
            new_groups = {}
            for lab, members in groups.items():
                sub = self._split(x[members]) if len(members) >= 2 * max(2, self.min_cluster_size) else np.zeros(len(members), dtype=int)
                for s in np.unique(sub):
                    name = f"{lab}{letter}{s + 1}"
                    labels[members[sub == s]] = name
                    new_groups[name] = members[sub == s]
            groups = new_groups
        self.labels_ = labels
        return self


def run_cluster(scores_parquet, trajectories_parquet, out_csv, params: dict, random_state: int = 0) -> pd.DataFrame:
    """Cluster the PCA scores; every ok trajectory gets exactly one channel.

    Trajectories without the analysis event get channel ``no_event``.
    """
    scores = pd.read_parquet(scores_parquet)
    table = pd.read_parquet(trajectories_parquet)
    pcs = [c for c in scores.columns if c.startswith("PC")]
    model = HierarchicalClustering(random_state=random_state, **params).fit(scores[pcs].to_numpy())
    out = pd.DataFrame({"trajectory_id": scores["trajectory_id"], "channel": model.labels_,
                        "is_noise": model.is_noise_, "event_time_fs": scores["time_fs"]})
    ok = table.loc[table["status"] == "ok", "trajectory_id"]
    missing = ok[~ok.isin(out["trajectory_id"])]
    if len(missing):
        out = pd.concat([out, pd.DataFrame({"trajectory_id": missing, "channel": "no_event", "is_noise": False,
                                            "event_time_fs": np.nan})], ignore_index=True)
    order = {t: i for i, t in enumerate(table["trajectory_id"])}
    out = out.sort_values("trajectory_id", key=lambda s: s.map(order)).reset_index(drop=True)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False)
    log.info("clusters: %s", out["channel"].value_counts().to_dict())
    return out
