"""From a committee's spread to an uncertainty: one scale factor per state, fitted out of fold.

A committee's raw spread (MLP members, KRR subset models) ranks frames by doubt but is not an error bar:
members share their training data and are too alike. The factor ``c`` is chosen on cross-validated
(out-of-fold) predictions of the training trajectories so that ±2cσ holds 95.4 % of their errors; held-out
trajectories then test whether that transfers (:func:`coverage`, :func:`reliability_curve`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

TWO_SIGMA_SHARE = float(norm.cdf(2.0) - norm.cdf(-2.0))  # 0.9545


def calibration_factors(y_true, mean, std) -> np.ndarray:
    """Per-state factor ``c`` with P(|error| ≤ 2 c σ) = 95.4 % on the given (out-of-fold) predictions."""
    z = np.abs(np.asarray(mean) - np.asarray(y_true)) / np.maximum(np.asarray(std), 1e-12)
    z = np.where(np.isfinite(z), z, np.nan)
    factors = np.nanquantile(z, TWO_SIGMA_SHARE, axis=0) / 2.0
    return np.where(np.isfinite(factors) & (factors > 0), factors, 1.0)


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
