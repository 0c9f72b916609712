"""Ledoit–Wolf fits batched over sets, each member's cost without itself, and the polish that uses it; checked
against scikit-learn's LedoitWolf refitted without the member (an independent computation) and against planted
Gaussian clouds."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.covariance import LedoitWolf

from analysis.cluster import LOO_MIN_PER_DIMENSION, gaussian_polish
from analysis.shrunk_gaussian import EXACT_BELOW, gaussian_costs, leave_one_out_costs, ledoit_wolf


def _sklearn_cost(fit, rows):
    return fit.mahalanobis(rows) + np.linalg.slogdet(fit.covariance_)[1]


@pytest.mark.parametrize("n,p", [(5, 8), (20, 8), (60, 5), (30, 1)])
def test_ledoit_wolf_equals_scikit_learn_for_each_set_of_a_batch(n, p):
    sets = np.random.default_rng(n + p).normal(size=(3, n, p)) * np.linspace(1.0, 3.0, p)
    mean, cov, shrinkage = ledoit_wolf(sets)
    for k, x in enumerate(sets):
        fit = LedoitWolf().fit(x)
        np.testing.assert_allclose(mean[k], fit.location_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(cov[k], fit.covariance_, rtol=1e-10, atol=1e-12)
        assert shrinkage[k] == pytest.approx(fit.shrinkage_, abs=1e-12)
        np.testing.assert_allclose(gaussian_costs(x[:4] + 0.5, x), _sklearn_cost(fit, x[:4] + 0.5), rtol=1e-9)


@pytest.mark.parametrize("n,p,rtol", [(6, 4, 1e-9), (25, 8, 1e-9), (EXACT_BELOW + 50, 6, 1e-2)])
def test_each_member_is_scored_under_the_fit_of_the_others(n, p, rtol):
    """Exact below EXACT_BELOW members; a rank-one downdate with the shrinkage held above (within 1 %)."""
    x = np.random.default_rng(n).normal(size=(n, p)) * np.linspace(1.0, 2.0, p)
    refits = np.array([_sklearn_cost(LedoitWolf().fit(np.delete(x, i, axis=0)), x[i:i + 1])[0] for i in range(n)])
    np.testing.assert_allclose(leave_one_out_costs(x), refits, rtol=rtol)
    assert (leave_one_out_costs(x) > _sklearn_cost(LedoitWolf().fit(x), x)).all()  # in-sample flatters every member
    assert np.isnan(leave_one_out_costs(x[:2])).all()


def _two_clouds(seed, p=8, n_a=20, n_b=19, separation=4.5):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n_a, p)), rng.normal(size=(n_b, p))
    b[:, 0] += separation
    return np.vstack([a, b]), np.r_[np.zeros(n_a, int), np.ones(n_b, int)], np.r_[separation, np.zeros(p - 1)]


def test_polish_returns_an_edge_event_that_only_its_own_presence_kept_in_the_wrong_cloud():
    """Two planted clouds (20 and 19 points in 8 dimensions, 4.5 sd apart); B's point nearest A is labelled A. By the
    true densities it belongs to B. Scored in-sample it stays in A (it widened A's fit towards itself); scored
    without itself it returns to B, and every other point keeps its planted cloud."""
    x, truth, centre_b = _two_clouds(seed=11)
    edge = 20 + int(np.argmin(x[20:, 0]))
    assert multivariate_normal(centre_b).logpdf(x[edge]) > multivariate_normal(np.zeros(8)).logpdf(x[edge])
    labels = truth.copy()
    labels[edge] = 0
    assert gaussian_polish(x, labels)[edge] == 0
    np.testing.assert_array_equal(gaussian_polish(x, labels, leave_one_out=True), truth)


def test_clusters_too_small_for_a_fit_without_a_member_are_scored_in_sample():
    x, truth, _ = _two_clouds(seed=3, p=4, n_a=LOO_MIN_PER_DIMENSION * 4 - 1, n_b=LOO_MIN_PER_DIMENSION * 4 - 1)
    labels = truth.copy()
    labels[-1] = 0
    np.testing.assert_array_equal(gaussian_polish(x, labels, leave_one_out=True), gaussian_polish(x, labels))


def test_a_cluster_of_identical_events_neither_fails_nor_swallows_its_neighbour():
    """Copies of one run (qc.exclude_copies off) make a cluster with no spread: its log determinant is −inf, so
    every point would score best there; the step that would empty the other cluster is not taken."""
    rng = np.random.default_rng(0)
    x = np.vstack([np.tile(rng.normal(size=(1, 3)), (25, 1)), rng.normal(size=(25, 3)) + [6.0, 0.0, 0.0]])
    labels = np.r_[np.zeros(25, int), np.ones(25, int)]
    assert np.isneginf(leave_one_out_costs(x[:25])).all()
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(gaussian_polish(x, labels, leave_one_out=True), labels)
