"""The primitives of :mod:`analysis.cluster` against independent computations and constructed answers."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from sklearn.metrics import silhouette_score

from analysis.cluster import best_ward_split, gaussian_polish, knee_eps, null_silhouette, silhouette


def _blobs(centres, n_each, spread, seed=0):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(c, spread, (n, len(c))) for c, n in zip(centres, n_each)])
    return x, np.repeat(np.arange(len(centres)), n_each)


def test_silhouette_equals_scikit_learn():
    x, labels = _blobs([(0, 0), (3, 0), (0, 4)], [20, 7, 12], 1.0)
    assert silhouette(squareform(pdist(x)), labels) == pytest.approx(silhouette_score(x, labels), abs=1e-12)


def test_knee_eps_lies_between_the_within_cluster_spacing_and_the_outliers():
    rng = np.random.default_rng(1)
    dense = rng.uniform(0, 1, (300, 2))  # k-distances ~0.1
    outliers = rng.uniform(20, 40, (8, 2))  # k-distances of several units
    eps = knee_eps(np.vstack([dense, outliers]), k=4)
    k_dist_dense = np.sort(squareform(pdist(dense)), axis=1)[:, 4]
    assert np.quantile(k_dist_dense, 0.5) <= eps < 1.0
    assert knee_eps(np.zeros((5, 2)), k=3) == pytest.approx(1e-9)  # all points equal: the floor, not 0


def test_best_ward_split_finds_three_separated_groups_and_respects_min_size():
    x, truth = _blobs([(0, 0), (6, 0), (0, 6)], [30, 30, 30], 0.5)
    labels, score = best_ward_split(x, max_k=5, min_size=5)
    assert len(np.unique(labels)) == 3 and score > 0.7
    assert all(len(np.unique(truth[labels == g])) == 1 for g in np.unique(labels))
    labels, score = best_ward_split(x[:8], max_k=3, min_size=5)  # 8 points cannot hold two groups of 5
    assert score == -1.0 and not labels.any()


def test_null_silhouette_of_one_gaussian_is_below_a_real_split():
    x, _ = _blobs([(0, 0), (6, 0)], [40, 40], 0.6)
    real = best_ward_split(x, max_k=4, min_size=5)[1]
    null = null_silhouette(80, 5, np.array([1.0, 0.5]), max_k=4, n_null=20)
    assert 0.2 < null < real
    assert null == null_silhouette(80, 5, np.array([2.0, 1.0]), max_k=4, n_null=20)  # depends on variance ratios only
    assert null_silhouette(80, 5, np.array([1.0, 0.5]), max_k=4, n_null=0) == -1.0


def test_gaussian_polish_returns_edge_points_to_their_cloud_and_keeps_noise():
    x, truth = _blobs([(0, 0), (4, 0)], [60, 60], 0.7, seed=3)
    cut = truth.copy()
    cut[(truth == 0) & (x[:, 0] > 0.8)] = 1  # a density cut too far left: cloud 0's right edge given to cloud 1
    cut[0] = -1
    assert (cut[1:] != truth[1:]).sum() >= 3
    polished = gaussian_polish(x, cut)
    assert polished[0] == -1
    assert (polished[1:] != truth[1:]).sum() <= 2 < (cut[1:] != truth[1:]).sum()


def test_ward_cuts_are_fclusters_partitions_and_the_nulls_do_not_change():
    """The fast cut (binary lifting over the merge tree) gives scipy's maxclust partitions on continuous data, so
    the Gaussian nulls computed with it equal those computed with fcluster."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import adjusted_rand_score

    from analysis import cluster

    rng = np.random.default_rng(3)
    for n, d in ((3, 1), (4, 2), (9, 2), (60, 3), (400, 2), (1001, 5)):
        tree = linkage(rng.normal(size=(n, d)), "ward")
        ks = range(2, min(8, n - 1) + 1)
        cuts = cluster.ward_cuts(tree, ks)
        for k in ks:
            assert len(np.unique(cuts[k])) == k
            assert adjusted_rand_score(fcluster(tree, k, "maxclust"), cuts[k]) == 1.0, (n, d, k)
    for n in (12, 60, 250):
        z = rng.normal(size=(n, 2)) * [1.0, 0.4]
        fast, exact = cluster.best_ward_split(z, 4, 3, exact_cuts=False), cluster.best_ward_split(z, 4, 3)
        assert fast[1] == exact[1] and adjusted_rand_score(fast[0], exact[0]) == 1.0
