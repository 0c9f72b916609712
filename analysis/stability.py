"""Trust in each channel: resampling stability (Hennig 2007, clusterboot) and a share interval.

Random subsets of the events (a fraction ``SUBSAMPLE_FRACTION``, drawn without replacement: resampling
*with* replacement duplicates events, and a duplicated event is a dense spot the density step and the Ward
split read as structure) are clustered again with the whole hierarchy, and each channel is matched to the
subset's cluster with the largest Jaccard index over the events in the subset. Its stability is the mean of
that best Jaccard. Its share interval is the subsampling interval (Politis & Romano 1994): the 2.5–97.5
percentiles of the matched cluster's share deviation, rescaled by √(f/(1−f)) from subsets of a fraction f to
the whole ensemble, around the channel's share. The percentiles are taken over the subsets that found the
channel *as itself* (best Jaccard ≥ the stability threshold, 0.75): a subset that cut the channel in two
matches its larger half, and that half's share, doubled by the rescaling, measured the split, not the share
(an 80-trajectory demo channel of stability 0.95 had an interval of 2–30 % around 16 %). How often the
channel was not found as itself is what its stability reports. The interval always holds the channel's own
share (a noisy demo's tentative channel of 26.5 % had 6–25 %: its subsets found it without its rim).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from sklearn.base import clone

from analysis.cluster import UNRESOLVED
from analysis.workload import PARALLEL_MIN_WORK

log = logging.getLogger(__name__)

STABLE_JACCARD = 0.75
SUBSAMPLE_FRACTION = 0.8
STABILITY_COLUMNS = ["channel", "stability", "share_percent_lo", "share_percent_hi", "tentative", "n_bootstrap"]


def _best_matches(labels: np.ndarray, sub_labels: np.ndarray, channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: best Jaccard with a resolved cluster of one subset, and that cluster's share of it (%)."""
    found = [c for c in np.unique(sub_labels) if c != UNRESOLVED]
    if not found:
        return np.zeros(len(channels)), np.zeros(len(channels))
    in_orig = np.array([labels == c for c in channels], dtype=int)   # (n_channels, n_subset)
    in_sub = np.array([sub_labels == d for d in found], dtype=int)   # (n_found, n_subset)
    both = in_orig @ in_sub.T
    union = in_orig.sum(1)[:, None] + in_sub.sum(1)[None, :] - both
    jac = np.where(union > 0, both / np.maximum(union, 1), 0.0)
    best = jac.argmax(axis=1)
    return jac[np.arange(len(channels)), best], 100.0 * in_sub.mean(axis=1)[best]


def _refit(estimator, x: np.ndarray, seed: int, min_size: int) -> np.ndarray:
    return clone(estimator).set_params(random_state=seed, min_cluster_size=min_size).fit(x).labels_


def channel_stability(estimator, x: np.ndarray, labels: np.ndarray, n_resamples: int = 100, random_state: int = 0,
                      stable_jaccard: float = STABLE_JACCARD, fraction: float = SUBSAMPLE_FRACTION,
                      n_jobs: int = 1) -> pd.DataFrame:
    """Resampling stability and 95 % share interval of every resolved channel in ``labels``.

    Parameters
    ----------
    estimator : HierarchicalClustering
        A clone with a new seed is fitted on every subset.
    x : ndarray (n_events, n_components)
    labels : ndarray of str
        The channels found on the whole ensemble (``estimator.labels_``).
    n_resamples : int
        Subsets (0: no resampling; stability and interval NaN).
    random_state : int
        Seeds the subsets and the clones.
    stable_jaccard : float
        Channels below this mean Jaccard are ``tentative``.
    fraction : float
        Subset size as a fraction of the events.
    n_jobs : int
        Subsets clustered in parallel (joblib processes) from :data:`PARALLEL_MIN_WORK` events × resamples on; the result
        is the same for any value.

    Returns
    -------
    DataFrame with :data:`STABILITY_COLUMNS`. A lone channel (the only one resolved) has no partition to be
    stable about: stability and interval NaN, not tentative.
    """
    labels = np.asarray(labels, dtype=object)
    channels = sorted(c for c in set(labels) if c != UNRESOLVED)
    if not channels:
        return pd.DataFrame(columns=STABILITY_COLUMNS)
    rng = np.random.default_rng(random_state)
    m = max(2, int(round(fraction * len(x))))
    # the smallest channel scales with the subset, as min_share does: a channel of 6 events has ~5 in a subset
    min_size = max(2, int(np.floor(estimator.get_params()["min_cluster_size"] * m / len(x))))
    draws = []
    for _ in range(n_resamples):  # every subset and seed drawn up front: the result does not depend on n_jobs
        draws.append((np.sort(rng.choice(len(x), size=m, replace=False)), int(rng.integers(2**31 - 1))))
    jobs = n_jobs if len(x) * n_resamples >= PARALLEL_MIN_WORK else 1  # below, starting workers costs more than it saves
    fits = Parallel(n_jobs=jobs)(delayed(_refit)(estimator, x[idx], seed, min_size) for idx, seed in draws)
    if jobs > 1:  # idle workers (~220 MB each) would otherwise stay through the rest of the job (formation)
        get_reusable_executor().shutdown(wait=True)
    jac, share = np.full((n_resamples, len(channels)), np.nan), np.full((n_resamples, len(channels)), np.nan)
    for b, ((idx, _), sub_labels) in enumerate(zip(draws, fits)):
        jac[b], share[b] = _best_matches(labels[idx], sub_labels, channels)
    share_all = np.array([100.0 * np.mean(labels == c) for c in channels])
    f = m / len(x)
    if n_resamples and f < 1:
        stability = jac.mean(axis=0)
        # the interval is over the subsets that found the channel as itself (see the module docstring); a lost
        # or split channel's best match is another cluster or a piece, whose share says nothing about this one
        dev = np.where(jac >= stable_jaccard, share - share_all, np.nan)
        found = np.isfinite(dev).any(axis=0)
        q = np.full((2, len(channels)), np.nan)
        q[:, found] = np.nanpercentile(dev[:, found], [2.5, 97.5], axis=0) * np.sqrt(f / (1 - f))
        # widened to hold the channel's own share: the subsets that found it as itself can all have found it
        # smaller (without its rim, the rest unresolved), and an interval beside its estimate would read as a contradiction
        lo = np.clip(np.minimum(share_all + q[0], share_all), 0, 100)
        hi = np.clip(np.maximum(share_all + q[1], share_all), 0, 100)
    else:
        stability = lo = hi = np.full(len(channels), np.nan)
    if len(channels) == 1:
        stability = lo = hi = np.full(1, np.nan)
    out = pd.DataFrame({"channel": channels, "stability": stability, "share_percent_lo": lo, "share_percent_hi": hi})
    out["tentative"] = out["stability"] < stable_jaccard
    out["n_bootstrap"] = n_resamples
    return out
