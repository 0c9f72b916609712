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
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN, AgglomerativeClustering
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

log = logging.getLogger(__name__)

UNRESOLVED = "unresolved"


def _order_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0.. by decreasing size (ties: first occurrence); -1 stays -1."""
    out = np.full_like(labels, -1)
    ids = [c for c in np.unique(labels) if c >= 0]
    first = {c: int(np.flatnonzero(labels == c)[0]) for c in ids}
    order = sorted(ids, key=lambda c: (-(labels == c).sum(), first[c]))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


class HierarchicalClustering(ClusterMixin, BaseEstimator):
    """Density-based top level, agglomerative sub-levels.

    Parameters
    ----------
    method : {'hdbscan', 'dbscan'}
    min_cluster_size : int       HDBSCAN min_cluster_size / DBSCAN min_samples
    eps : float                  DBSCAN radius (in PCA-score units)
    levels : int                 number of levels (1 = density clustering only)
    max_subclusters : int
    min_silhouette : float       a split must reach this silhouette (on the cluster's own PCA axes) …
    split_components : int       … computed on this many of the cluster's own principal axes …
    n_null : int                 … and beat the best split of each of this many Gaussian samples with the
                                 cluster's covariance (see :meth:`_split`)
    random_state : int           seeds the null samples
    noise : {'nearest', 'keep'}  noise points join the cluster of their nearest clustered point, or stay
                                 ``unresolved``. When the density step finds no cluster at all, every point
                                 is ``unresolved`` (density noise is never shown as a channel).

    Attributes
    ----------
    labels_ : ndarray of str     e.g. 'A1B2', or 'unresolved'
    top_labels_ : ndarray of int level-A cluster (−1 unresolved)
    is_noise_ : ndarray of bool  the density step called the point noise
    """

    def __init__(self, method="hdbscan", min_cluster_size=5, eps=0.5, levels=2, max_subclusters=4,
                 min_silhouette=0.5, noise="nearest", split_components=2, n_null=30, random_state=0):
        self.method = method
        self.min_cluster_size = min_cluster_size
        self.eps = eps
        self.levels = levels
        self.max_subclusters = max_subclusters
        self.min_silhouette = min_silhouette
        self.noise = noise
        self.split_components = split_components
        self.n_null = n_null
        self.random_state = random_state

    def _density(self, x):
        if self.method == "hdbscan":
            import hdbscan

            model = hdbscan.HDBSCAN(min_cluster_size=max(2, int(self.min_cluster_size)))
            return model.fit_predict(x)
        if self.method == "dbscan":
            return DBSCAN(eps=self.eps, min_samples=int(self.min_cluster_size)).fit_predict(x)
        raise ValueError(f"cluster.method: unknown method {self.method!r}; expected hdbscan or dbscan")

    def _best_ward(self, z):
        """(labels, silhouette) of the best Ward split of z into 2..max_subclusters groups of at least
        ``min_cluster_size`` points (a sub-channel is held to the size a level-A channel needs)."""
        n = len(z)
        best, best_score = np.zeros(n, dtype=int), -1.0
        for k in range(2, min(self.max_subclusters, n - 1) + 1):
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(z)
            if np.min(np.bincount(labels)) < max(2, int(self.min_cluster_size)):
                continue
            score = silhouette_score(z, labels)
            if score > best_score:
                best, best_score = labels, score
        return best, best_score

    def _split(self, x, rng):
        """Split of one cluster (x: its level-A scores), or all zeros.

        The cluster gets its own PCA (``split_components`` axes), so a motion that is minor in the whole
        ensemble but separates the cluster becomes visible. The best Ward split must reach ``min_silhouette``
        and beat every one of ``n_null`` splits of Gaussian samples with the cluster's own mean and
        covariance (thermal noise alone has no sub-structure; a silhouette threshold alone splits elongated
        noise and misses close channels).
        """
        n = len(x)
        k_axes = max(1, min(self.split_components, x.shape[1], n - 1))
        z = PCA(n_components=k_axes).fit_transform(x)
        best, score = self._best_ward(z)
        if score < self.min_silhouette:
            return np.zeros(n, dtype=int)
        cov = np.atleast_2d(np.cov(z.T))
        for _ in range(self.n_null):
            null = rng.multivariate_normal(np.zeros(k_axes), cov, size=n, method="eigh")
            if self._best_ward(null)[1] >= score:
                return np.zeros(n, dtype=int)
        return _order_by_size(best)

    def fit(self, x: np.ndarray, y=None) -> "HierarchicalClustering":
        x = np.array(x, dtype=float)  # a writable copy: hdbscan refuses read-only (copy-on-write pandas) buffers
        n = len(x)
        top = self._density(x) if n >= 2 else np.full(n, -1, dtype=int)
        self.is_noise_ = top < 0
        if (top < 0).all():
            log.warning("density clustering found no cluster in %d points (min_cluster_size=%s): all unresolved",
                        n, self.min_cluster_size)
        elif self.noise == "nearest" and (top < 0).any():
            core = np.flatnonzero(top >= 0)
            nn = NearestNeighbors(n_neighbors=1).fit(x[core])
            _, idx = nn.kneighbors(x[top < 0])
            top[top < 0] = top[core[idx[:, 0]]]
        top = _order_by_size(top)
        self.top_labels_ = top
        labels = np.array([(UNRESOLVED if t < 0 else f"A{t + 1}") for t in top], dtype=object)
        groups = {lab: np.flatnonzero(labels == lab) for lab in np.unique(labels) if lab != UNRESOLVED}
        rng = np.random.default_rng(self.random_state)
        for level in range(1, self.levels):
            letter = string.ascii_uppercase[level]
            new_groups = {}
            for lab, members in groups.items():
                sub = self._split(x[members], rng) if len(members) >= 2 * max(2, self.min_cluster_size) else np.zeros(len(members), dtype=int)
                for s in np.unique(sub):
                    name = f"{lab}{letter}{s + 1}"
                    labels[members[sub == s]] = name
                    new_groups[name] = members[sub == s]
            groups = new_groups
        self.labels_ = labels
        return self


ASSIGNMENT_COLUMNS = ["transition", "trajectory_id", "frame", "event_time_fs", "kind", "channel", "is_noise"]


def cluster_events(scores: pd.DataFrame, events: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Channels of every event, each transition clustered on its own PCA scores.

    Events of a transition that was not reduced (too few events) are ``unresolved``.

    Returns
    -------
    DataFrame with :data:`ASSIGNMENT_COLUMNS`, in event-table order.
    """
    key = ["transition", "trajectory_id", "frame"]
    pcs = [c for c in scores.columns if c.startswith("PC")]
    found = [pd.DataFrame(columns=key + ["channel", "is_noise"])]
    for transition, group in scores.groupby("transition", sort=False):
        model = HierarchicalClustering(**params).fit(group[pcs].dropna(axis=1, how="all").to_numpy())
        found.append(group[key].assign(channel=model.labels_, is_noise=model.is_noise_))
        log.info("clusters %s: %s", transition, pd.Series(model.labels_).value_counts().to_dict())
    out = events[key + ["time_fs", "kind"]].rename(columns={"time_fs": "event_time_fs"})
    out = out.merge(pd.concat(found, ignore_index=True), on=key, how="left")
    out["channel"] = out["channel"].fillna(UNRESOLVED)
    out["is_noise"] = out["is_noise"].eq(True)
    return out[ASSIGNMENT_COLUMNS]


def run_cluster(scores_parquet, events_parquet, out_csv, params: dict) -> pd.DataFrame:
    """Read scores and events, :func:`cluster_events`, write ``assignments.csv`` (one row per event)."""
    scores = pd.read_parquet(scores_parquet)
    events = pd.read_parquet(events_parquet, columns=["transition", "trajectory_id", "frame", "time_fs", "kind"])
    out = cluster_events(scores, events, params)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False)
    return out
