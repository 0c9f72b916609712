"""From a committee's spread to an uncertainty: σ² = (c·spread)² + σ₀², fitted out of fold per target.

A committee's raw spread (MLP members, KRR subset models) ranks frames by doubt but is not an error bar:
members share their training data and are too alike, and an interpolating kernel model's members agree
exactly on frames they all saw. The scale ``c`` and the floor ``σ₀`` (eV) are fitted by Gaussian maximum
likelihood on cross-validated (out-of-fold) predictions of the training trajectories; held-out trajectories
then test whether that transfers (:func:`coverage`, :func:`reliability_curve`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

TWO_SIGMA_SHARE = float(norm.cdf(2.0) - norm.cdf(-2.0))  # 0.9545


def _fit_one(err, spread):
    ok = np.isfinite(err) & np.isfinite(spread)
    err, spread = err[ok], spread[ok]
    if len(err) < 2 or not np.any(err):
        return 1.0, 0.0
    var_e = float(np.mean(err**2))

    def nll(theta):
        var = np.exp(2 * theta[0]) * spread**2 + np.exp(2 * theta[1])
        return float(np.mean(np.log(var) + err**2 / var))

    starts = [(np.log(max(np.sqrt(var_e) / max(np.mean(spread), 1e-12), 1e-6)), np.log(np.sqrt(var_e) / 10)),
              (np.log(1e-6), np.log(np.sqrt(var_e)))]
    best = min((minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-8}) for x0 in starts), key=lambda r: r.fun)
    return float(np.exp(best.x[0])), float(np.exp(best.x[1]))


def calibration_factors(y_true, mean, std) -> np.ndarray:
    """Per target (column) the scale ``c`` and floor ``σ₀``: array (2, n_targets), σ = √((c·spread)² + σ₀²)."""
    err = np.asarray(mean) - np.asarray(y_true)
    std = np.asarray(std)
    return np.array([_fit_one(err[:, k], std[:, k]) for k in range(err.shape[1])]).T


def calibrated_sigma(std, calibration) -> np.ndarray:
    """σ (eV) from the raw spread (n, n_targets) and :func:`calibration_factors` (2, ≥ n_targets)."""
    std = np.asarray(std)
    scale, floor = np.asarray(calibration)[:, : std.shape[1]]
    return np.sqrt((scale * std) ** 2 + floor**2)


def coverage(y_true, mean, sigma, k: float) -> float:
    """Share of errors inside ±kσ over all frames and states."""
    return float((np.abs(np.asarray(mean) - np.asarray(y_true)) <= k * np.asarray(sigma)).mean())


def reliability_curve(y_true, mean, sigma, levels=None):
    """Expected vs observed share of errors inside the central Gaussian interval of each confidence level.

    Returns (levels, observed): a calibrated uncertainty lies on the diagonal.
    """
    levels = np.linspace(0.05, 0.99, 20) if levels is None else np.asarray(levels)
    z = np.abs(np.asarray(mean) - np.asarray(y_true)) / np.maximum(np.asarray(sigma), 1e-12)
    half_width = norm.ppf(0.5 + levels / 2.0)
    observed = np.array([(z <= w).mean() for w in half_width])
    return levels, observed
