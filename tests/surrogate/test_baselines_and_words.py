"""The surrogate's baselines against scikit-learn, the reliability curve on a known distribution, and the
sentence that says which model predicts."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from analysis.surrogate.calibration import reliability_curve
from analysis.surrogate.models import MeanRegressor, RidgeRegressor
from analysis.surrogate.train import choice_words


def _xy(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 6)) * [1, 2, 3, 0.5, 1, 4]
    y = np.column_stack([x @ rng.normal(size=6) + 3.0, np.sin(x[:, 0]) + 10.0]) + rng.normal(0, 0.1, (200, 2))
    return x, y


def test_ridge_baseline_equals_scikit_learn_ridge_on_standardized_data():
    x, y = _xy()
    ours = RidgeRegressor(alpha=2.5).fit(x, y)
    xs = StandardScaler().fit(x)
    y_mean, y_std = y.mean(0), y.std(0)
    sk = Ridge(alpha=2.5).fit(xs.transform(x), (y - y_mean) / y_std)
    x_new = _xy(1)[0][:10]
    np.testing.assert_allclose(ours.predict(x_new), sk.predict(xs.transform(x_new)) * y_std + y_mean, rtol=1e-10)
    _, std = ours.predict(x_new, return_std=True)
    residual_sd = ((y - ours.predict(x)).std(0))
    np.testing.assert_allclose(std, np.broadcast_to(residual_sd, std.shape), rtol=1e-10)


def test_mean_baseline_predicts_the_training_mean_and_sd():
    x, y = _xy()
    mean, std = MeanRegressor().fit(x, y).predict(x[:4], return_std=True)
    np.testing.assert_allclose(mean, np.tile(y.mean(0), (4, 1)))
    np.testing.assert_allclose(std, np.tile(y.std(0), (4, 1)))


def test_reliability_curve_of_a_calibrated_and_an_overconfident_sigma():
    rng = np.random.default_rng(0)
    truth = rng.normal(0.0, 0.3, 200_000)
    levels, observed = reliability_curve(truth, np.zeros_like(truth), np.full_like(truth, 0.3), levels=[0.5, 0.6827, 0.9545])
    np.testing.assert_allclose(observed, [0.5, 0.6827, 0.9545], atol=0.005)
    _, over = reliability_curve(truth, np.zeros_like(truth), np.full_like(truth, 0.15), levels=[0.6827])
    assert over[0] == pytest.approx(0.3829, abs=0.005)  # half the true σ: ±1σ holds P(|z| < 0.5)


def test_choice_words_name_the_rule_and_the_mlp_when_it_lost():
    lowest = choice_words("krr", {"krr": 0.10, "mlp": 0.20, "mean": 0.9})
    assert lowest.startswith("The predictor is the kernel ridge regression: lowest MAE (0.100 eV) in cross-validation")
    assert lowest.endswith("the MLP ensemble alone reached 0.200 eV there.")
    rule = choice_words("krr", {"krr": 0.11, "mlp": 0.10}, se=0.02, basis="3-fold CV")
    assert "within one standard error (0.020 eV) of the lowest, 0.100 eV (MLP ensemble)" in rule
    assert "one-standard-error rule" in rule and "3-fold CV" in rule
    assert choice_words("mlp", {"krr": 0.2, "mlp": 0.1}).endswith("in cross-validation.")
