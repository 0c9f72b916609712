"""Channel stability (analysis.stability): known answers on separated blobs and on pure noise."""

import numpy as np
import pandas as pd
import pytest

from analysis.cluster import HierarchicalClustering
from analysis.stability import channel_stability


def _blobs(seed, sizes=(60, 40, 30), spread=1.0, gap=6.0):
    rng = np.random.default_rng(seed)
    centres = [np.zeros(4), np.r_[gap, 0, 0, 0], np.r_[0, gap, 0, 0]]
    x = np.vstack([rng.normal(0, spread, (n, 4)) + c for n, c in zip(sizes, centres)])
    return x, np.repeat(np.arange(len(sizes)), sizes)


def test_separated_channels_are_stable_and_their_share_interval_holds_the_truth():
    x, truth = _blobs(0)
    model = HierarchicalClustering().fit(x)
    stats = channel_stability(model, x, model.labels_, n_resamples=100, random_state=1)
    assert len(stats) == 3 and (stats["stability"] >= 0.9).all() and not stats["tentative"].any(), stats
    for _, row in stats.iterrows():
        planted = np.bincount(truth[model.labels_ == row["channel"]]).argmax()
        true_share = 100 * np.mean(truth == planted)
        assert row["share_percent_lo"] <= true_share <= row["share_percent_hi"], (row.to_dict(), true_share)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pure_noise_has_no_stable_channel(seed):
    """An elongated Gaussian cloud (thermal noise, no planted channel): whatever the density step cuts out of it
    is either merged back into one channel (no partition: stability NaN) or marked tentative."""
    x = np.random.default_rng(seed).normal(size=(120, 5)) * [3, 1, 1, 0.5, 0.5]
    model = HierarchicalClustering().fit(x)
    stats = channel_stability(model, x, model.labels_, n_resamples=50, random_state=seed)
    assert not (stats["stability"] >= 0.75).any(), stats


def test_stability_is_reproducible_and_seeded():
    x, _ = _blobs(4, sizes=(30, 12, 25), spread=1.6, gap=5.0)
    model = HierarchicalClustering(random_state=3).fit(x)
    a = channel_stability(model, x, model.labels_, n_resamples=30, random_state=7)
    b = channel_stability(HierarchicalClustering(random_state=3).fit(x), x, model.labels_, n_resamples=30, random_state=7)
    assert a.equals(b)


def test_no_channel_gives_an_empty_table():
    x = np.random.default_rng(0).normal(size=(4, 2))
    model = HierarchicalClustering(small_run_share=0.0).fit(x)  # channels of >= 5 events: 4 make none
    assert (model.labels_ == "unresolved").all()
    assert channel_stability(model, x, model.labels_, n_resamples=5).empty


def test_density_noise_inside_a_cluster_ellipsoid_joins_it_and_far_outliers_stay_unresolved():
    rng = np.random.default_rng(5)
    x = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(0, 1, (60, 2)) + [10, 0], [[5, 40], [-30, -30]]])
    labels = HierarchicalClustering().fit(x).labels_
    assert labels[-1] == labels[-2] == "unresolved"
    assert (labels[:120] != "unresolved").mean() >= 0.98


def test_dbscan_radius_from_the_k_distance_knee_separates_blobs_of_any_scale():
    """eps: auto scales with the data: the same blobs ×1 and ×10 give the same channels and a 10× radius."""
    from sklearn.metrics import adjusted_rand_score

    x, truth = _blobs(0, gap=8.0)
    small = HierarchicalClustering(method="dbscan").fit(x)
    large = HierarchicalClustering(method="dbscan").fit(10 * x)
    assert adjusted_rand_score(truth, small.labels_) >= 0.95
    assert list(small.labels_) == list(large.labels_) and np.isclose(large.eps_, 10 * small.eps_)


class _SometimesSplits:
    """A stand-in clusterer with a known answer: channel A is x[:, 0] < 0, B the rest; one fit in eight (by
    seed) cuts A in two halves, as a density step occasionally does to a real channel."""

    def __init__(self, random_state=0, min_cluster_size=5):
        self.random_state = random_state
        self.min_cluster_size = min_cluster_size

    def get_params(self, deep=True):
        return {"random_state": self.random_state, "min_cluster_size": self.min_cluster_size}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, x):
        labels = np.where(x[:, 0] < 0, "A1B1", "A2B1").astype(object)
        if self.random_state % 8 == 1:
            a = np.flatnonzero(labels == "A1B1")
            labels[a[: len(a) // 2]] = "A3B1"
        self.labels_ = labels
        return self


def test_share_interval_is_not_widened_by_the_subsets_that_split_the_channel():
    """Subsets that split a channel lower its stability; its share interval stays the sampling interval of the
    share (here ~binomial: 40 % of 100 events), not the split's half share rescaled (which reached ~0 %)."""
    rng = np.random.default_rng(0)
    x = np.column_stack([np.r_[-1 - rng.random(40), 1 + rng.random(60)], rng.random(100)])
    model = _SometimesSplits().fit(x)
    stats = channel_stability(model, x, model.labels_, n_resamples=200, random_state=2).set_index("channel")
    a = stats.loc["A1B1"]
    assert 0.8 < a["stability"] < 0.98  # the split subsets are seen ...
    assert 25 < a["share_percent_lo"] < 40 < a["share_percent_hi"] < 55, a.to_dict()  # ... but do not set the interval


def test_subsets_clustered_in_worker_processes_give_the_same_table(monkeypatch):
    """The parallel path (from PARALLEL_MIN_WORK events × resamples on) draws every subset and seed up front, so
    its table equals the one-process table."""
    from analysis import stability
    from analysis.cluster import HierarchicalClustering

    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(size=(40, 3)) + [6 * k, 0, 0] for k in range(3)])
    model = HierarchicalClustering(random_state=0).fit(x)
    one = stability.channel_stability(model, x, model.labels_, n_resamples=8, n_jobs=1)
    monkeypatch.setattr(stability, "PARALLEL_MIN_WORK", 0)
    two = stability.channel_stability(model, x, model.labels_, n_resamples=8, n_jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert len(one) == 3 and (one["stability"] > 0.9).all()


class _FindsOnlyTheCore(_SometimesSplits):
    """A stand-in that, on every subset, finds channel A (x[:, 0] < 0 on the whole ensemble) without its rim
    (−1.15 < x < 0, 15 % of A): found as itself (Jaccard ≈ 0.85), with a smaller share every time."""

    def fit(self, x):
        self.labels_ = np.where(x[:, 0] < -1.15, "A1B1", np.where(x[:, 0] < 0, "unresolved", "A2B1")).astype(object)
        return self


def test_share_interval_always_holds_the_channels_own_share():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.r_[-1 - rng.random(40), 1 + rng.random(60)], rng.random(100)])
    labels = np.where(x[:, 0] < 0, "A1B1", "A2B1").astype(object)
    stats = channel_stability(_FindsOnlyTheCore(), x, labels, n_resamples=50, random_state=2).set_index("channel")
    a = stats.loc["A1B1"]
    assert 0.75 < a["stability"] < 0.95
    assert a["share_percent_lo"] < 40.0 <= a["share_percent_hi"], a.to_dict()
