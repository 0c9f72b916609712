"""PCA of the event features, with loadings that say which motion each component is."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from analysis.features.internal import clustering_columns

log = logging.getLogger(__name__)


class EventPCA:
    """Standardize the clustering columns, then PCA (scikit-learn conventions).

    Parameters
    ----------
    n_components : int or float
        Number of components, or the fraction of variance to keep (0 < x < 1).
    max_components : int
        Upper bound when ``n_components`` is a fraction.
    random_state : int

    Attributes
    ----------
    columns_ : list of str        feature columns used
    scaler_ : StandardScaler
    pca_ : PCA
    loadings_ : DataFrame         (n_features, n_components) component weights
    """

    def __init__(self, n_components=0.9, max_components: int = 10, random_state: int = 0):
        self.n_components = n_components
        self.max_components = max_components
        self.random_state = random_state

    def fit(self, features: pd.DataFrame) -> "EventPCA":
        cols = clustering_columns(c for c in features.columns if "[" in c)
        x = features[cols].to_numpy(dtype=float)
        # Constant columns (e.g. a rigid bond) carry no information and would divide by zero.
        keep = x.std(axis=0) > 1e-12
        self.columns_ = [c for c, k in zip(cols, keep) if k]
        x = x[:, keep]
        self.scaler_ = StandardScaler().fit(x)
        z = self.scaler_.transform(x)
        n_max = max(1, min(self.max_components, z.shape[0] - 1, z.shape[1]))
        full = PCA(n_components=n_max, svd_solver="full", random_state=self.random_state).fit(z)
        if isinstance(self.n_components, float) and 0 < self.n_components < 1:
            k = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), self.n_components) + 1)
        else:
            k = int(self.n_components)
        k = max(1, min(k, n_max))
        self.pca_ = PCA(n_components=k, svd_solver="full", random_state=self.random_state).fit(z)
        names = [f"PC{i + 1}" for i in range(k)]
        self.loadings_ = pd.DataFrame(self.pca_.components_.T, index=self.columns_, columns=names)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        return self.pca_.transform(self.scaler_.transform(features[self.columns_].to_numpy(dtype=float)))

    def top_loadings(self, component: int, n: int = 3) -> list[tuple[str, float]]:
        col = self.loadings_.iloc[:, component]
        idx = col.abs().sort_values(ascending=False).index[:n]
        return [(i, float(col[i])) for i in idx]


def run_reduce(events_parquet, scores_out, loadings_out, summary_out, n_components=0.9, max_components=10, random_state=0) -> EventPCA:
    """Fit the PCA on all events, write scores (parquet), loadings (CSV) and a JSON summary."""
    events = pd.read_parquet(events_parquet)
    if len(events) < 3:
        raise RuntimeError(f"{events_parquet}: only {len(events)} trajectories have the analysis event; PCA needs at least 3")
    model = EventPCA(n_components, max_components, random_state).fit(events)
    scores = model.transform(events)
    out = pd.DataFrame(scores, columns=model.loadings_.columns)
    out.insert(0, "trajectory_id", events["trajectory_id"].to_numpy())
    out.insert(1, "time_fs", events["time_fs"].to_numpy())
    Path(scores_out).parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(scores_out, index=False)
    model.loadings_.to_csv(loadings_out, index_label="feature", float_format="%.6f")
    summary = {
        "n_events": int(len(events)), "n_features": len(model.columns_), "n_components": int(model.pca_.n_components_),
        "explained_variance_ratio": [float(v) for v in model.pca_.explained_variance_ratio_],
        "top_loadings": {f"PC{i + 1}": model.top_loadings(i) for i in range(model.pca_.n_components_)},
        "random_state": random_state,
    }
    Path(summary_out).write_text(json.dumps(summary, indent=1))
    log.info("PCA: %d events x %d features -> %d components (%.1f %% variance)", len(events), len(model.columns_),
             model.pca_.n_components_, 100 * float(np.sum(model.pca_.explained_variance_ratio_)))
    return model
