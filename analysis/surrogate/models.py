"""Regressors of the surrogate: descriptor (n_frames, n_features) → state energies (n_frames, n_states), eV.

Every model follows scikit-learn's estimator conventions (``fit`` returns self, learned attributes end in
``_``, randomness through ``random_state``) and predicts a mean and a raw spread,
``predict(x, return_std=True)``. The spread is a committee's: the standard deviation over the members of
an MLP ensemble (different seeds), or over kernel ridge models fitted on trajectory subsets. It becomes an
uncertainty only after calibration (:mod:`analysis.surrogate.calibration`).

All learned state is plain NumPy arrays (``arrays_()`` / ``from_arrays``), so a model is saved without
pickle and a loaded one predicts with the same code.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from sklearn.base import BaseEstimator, RegressorMixin

from analysis.surrogate.cityblock import cityblock_distances
from analysis.surrogate.descriptors import take_columns
from analysis.surrogate.mlp import forward, train_ensemble

class _Scaled(RegressorMixin, BaseEstimator):
    """Standardizes descriptors and targets with the training mean and spread (learned ``x_mean_`` ...).

    A model with a ``columns`` parameter [start, stop) reads only those columns of the descriptor it is given (one
    part of a ``+``-joined descriptor, :func:`analysis.surrogate.descriptors.block_columns`); None: all of them."""

    def _columns(self, x):
        return take_columns(x, getattr(self, "columns", None))

    def _fit_scalers(self, x, y):
        x = self._columns(x)
        self.x_mean_, self.x_scale_ = x.mean(0), safe_scale(x.std(0))
        self.y_mean_, self.y_scale_ = y.mean(0), safe_scale(y.std(0))
        return (x - self.x_mean_) / self.x_scale_, (y - self.y_mean_) / self.y_scale_

    def _x(self, x):
        return (self._columns(np.asarray(x, dtype=float)) - self.x_mean_) / self.x_scale_

    def _unscale(self, mean_scaled, std_scaled):
        return mean_scaled * self.y_scale_ + self.y_mean_, std_scaled * self.y_scale_

    def predict(self, x, return_std: bool = False):
        """Mean prediction (n, n_states) in target units; with ``return_std`` also the committee spread."""
        mean, std = self._unscale(*self._predict_scaled(self._x(x)))
        return (mean, std) if return_std else mean

    def arrays_(self) -> dict[str, np.ndarray]:
        """Learned state as named arrays (for :mod:`analysis.surrogate.modelfile`)."""
        return {k: np.asarray(getattr(self, k)) for k in ("x_mean_", "x_scale_", "y_mean_", "y_scale_")}

    @classmethod
    def from_arrays(cls, params: dict, arrays: dict):
        """A fitted model from ``get_params()`` and ``arrays_()`` (no code is loaded)."""
        model = cls(**params)
        for k in ("x_mean_", "x_scale_", "y_mean_", "y_scale_"):
            setattr(model, k, np.asarray(arrays[k], dtype=float))
        return model


def safe_scale(std):
    """A standard deviation to divide by: 1 where it is (numerically) zero, so a constant column stays constant."""
    return np.where(std > 1e-12, std, 1.0)


class MeanRegressor(_Scaled):
    """The training mean of each state; spread = the training standard deviation (a baseline)."""

    def fit(self, x, y, groups=None):
        self._fit_scalers(np.asarray(x, float), np.asarray(y, float))
        return self

    def _predict_scaled(self, xs):
        return np.zeros((len(xs), len(self.y_mean_))), np.ones((len(xs), len(self.y_mean_)))


class RidgeRegressor(_Scaled):
    """Linear ridge regression on the standardized descriptor (a baseline); spread = training residual sd."""

    def __init__(self, alpha: float = 1.0, columns=None):
        self.alpha = alpha
        self.columns = columns

    def fit(self, x, y, groups=None):
        xs, ys = self._fit_scalers(np.asarray(x, float), np.asarray(y, float))
        a = xs.T @ xs + self.alpha * np.eye(xs.shape[1])
        self.coef_ = np.linalg.solve(a, xs.T @ ys)
        self.residual_sd_ = safe_scale((ys - xs @ self.coef_).std(0))
        return self

    def _predict_scaled(self, xs):
        return xs @ self.coef_, np.broadcast_to(self.residual_sd_, (len(xs), len(self.residual_sd_)))

    def arrays_(self):
        return {**super().arrays_(), "coef_": self.coef_, "residual_sd_": self.residual_sd_}

    @classmethod
    def from_arrays(cls, params, arrays):
        model = super().from_arrays(params, arrays)
        model.coef_, model.residual_sd_ = arrays["coef_"], arrays["residual_sd_"]
        return model


class MLPEnsemble(_Scaled):
    """``n_members`` multilayer perceptrons trained together (:func:`analysis.surrogate.mlp.train_ensemble`).

    Mean = the members' average; spread = their standard deviation. ``max_iter`` counts epochs; early
    stopping holds out trajectories (``groups`` in :meth:`fit`) and keeps each member's best epoch.
    """

    def __init__(self, hidden_layer_sizes=(64, 64), activation: str = "tanh", alpha: float = 1e-4, learning_rate_init: float = 1e-3,
                 max_iter: int = 500, batch_size: int = 200, patience: int = 10, n_members: int = 5, random_state: int = 0,
                 columns=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.patience = patience
        self.n_members = n_members
        self.random_state = random_state
        self.columns = columns

    def fit(self, x, y, groups=None):
        xs, ys = self._fit_scalers(np.asarray(x, float), np.asarray(y, float))
        self.weights_, self.biases_, self.n_epochs_ = train_ensemble(
            xs, ys, groups, tuple(self.hidden_layer_sizes), self.activation, self.alpha, self.learning_rate_init, self.max_iter,
            self.batch_size, self.patience, self.n_members, self.random_state)
        return self

    def _predict_scaled(self, xs):
        out = forward(xs, self.weights_, self.biases_, self.activation)[0]
        return out.mean(0), out.std(0)

    def arrays_(self):
        out = super().arrays_()
        for layer, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            out[f"w{layer}"], out[f"b{layer}"] = w, b
        return out

    @classmethod
    def from_arrays(cls, params, arrays):
        model = super().from_arrays(params, arrays)
        n_layers = len(model.hidden_layer_sizes) + 1
        # in the stored dtype (float32, as trained): a float64 copy would compute differently from the fitted model
        model.weights_ = [np.asarray(arrays[f"w{j}"]) for j in range(n_layers)]
        model.biases_ = [np.asarray(arrays[f"b{j}"]) for j in range(n_layers)]
        if model.weights_[0].shape[0] != model.n_members:
            raise ValueError(f"MLP arrays hold {model.weights_[0].shape[0]} members, parameters say {model.n_members}")
        return model


def pairwise_distances(a, b, kind: str) -> np.ndarray:
    """What the kernel of ``kind`` is a function of: squared Euclidean (gaussian) or L1 (laplacian) distances.
    The squared distances are built in one (len(a), len(b)) array, without temporaries of that size."""
    if kind == "gaussian":
        d = a @ b.T
        d *= -2.0
        d += (a**2).sum(1)[:, None]
        d += (b**2).sum(1)[None, :]
        return np.maximum(d, 0.0, out=d)
    if kind == "laplacian":
        return cityblock_distances(a, b)
    raise ValueError(f"unknown kernel {kind!r}: expected 'gaussian' or 'laplacian'")


def kernel_from_distances(distances: np.ndarray, kind: str, length_scale: float, overwrite: bool = False) -> np.ndarray:
    """Gaussian ``exp(−d²/2ℓ²)`` from squared distances, or Laplacian ``exp(−d₁/ℓ)`` from L1 distances; with
    ``overwrite`` in the distances' own array (a 4,000-frame kernel is 128 MB)."""
    out = distances if overwrite else np.empty_like(distances, dtype=float)
    np.divide(distances, -(2.0 * length_scale**2) if kind == "gaussian" else -length_scale, out=out)
    return np.exp(out, out=out)


def kernel_matrix(a, b, kind: str, length_scale: float):
    """Gaussian ``exp(−|a−b|²/2ℓ²)`` or Laplacian ``exp(−|a−b|₁/ℓ)`` kernel between rows of ``a`` and ``b``
    (one array of that size)."""
    return kernel_from_distances(pairwise_distances(a, b, kind), kind, length_scale, overwrite=True)


def median_distance(xs, kind: str, n_sample: int = 400, seed: int = 0) -> float:
    """Median pairwise distance (Euclidean for gaussian, L1 for laplacian) of up to ``n_sample`` rows."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(seed)
    sample = xs if len(xs) <= n_sample else xs[np.sort(rng.choice(len(xs), n_sample, replace=False))]
    d = pdist(sample, "sqeuclidean" if kind == "gaussian" else "cityblock")
    d = d[d > 0]
    med = float(np.median(np.sqrt(d) if kind == "gaussian" else d)) if len(d) else 1.0
    return med if med > 0 else 1.0


def solve_krr(kernel: np.ndarray, ys: np.ndarray, alpha: float, overwrite: bool = False) -> np.ndarray:
    """Dual coefficients (K + αI)⁻¹ y by Cholesky; ``kernel`` (symmetric) is left as it was unless ``overwrite``
    (then it holds the factor afterwards, and no second n × n array is made)."""
    k = kernel if overwrite else kernel.copy()
    k.flat[::len(k) + 1] += alpha
    # LAPACK works on Fortran order: K's transpose is K, and the transposed view of a C-ordered K is Fortran
    # ordered, so it is factorized where it lies (passing K itself, SciPy would make a Fortran copy)
    return cho_solve(cho_factor(k.T, lower=False, overwrite_a=True, check_finite=False), ys, check_finite=False)


class KernelRidge(_Scaled):
    """Kernel ridge regression on the standardized descriptor, with a committee for the spread.

    ``length_scale_factor`` multiplies the median pairwise distance of the training descriptors (so one grid
    serves every molecule); ``alpha`` is the ridge on standardized targets. At most ``max_frames`` training
    frames are used (evenly subsampled, seeded): the kernel matrix grows as n². The spread is the standard
    deviation over ``n_members`` models fitted on ``member_fraction`` of the trajectories (of the frames when
    there are fewer than 3 trajectories); the mean is the model on all frames.
    """

    def __init__(self, kernel: str = "gaussian", length_scale_factor: float = 1.0, alpha: float = 1e-6, max_frames: int = 4000,
                 n_members: int = 5, member_fraction: float = 0.8, random_state: int = 0, columns=None):
        self.kernel = kernel
        self.length_scale_factor = length_scale_factor
        self.alpha = alpha
        self.max_frames = max_frames
        self.n_members = n_members
        self.member_fraction = member_fraction
        self.random_state = random_state
        self.columns = columns

    def fit(self, x, y, groups=None):
        x, y = np.asarray(x, float), np.asarray(y, float)
        groups = np.zeros(len(x)) if groups is None else np.asarray(groups)
        rng = np.random.default_rng(self.random_state)
        if len(x) > self.max_frames:
            keep = np.sort(rng.choice(len(x), self.max_frames, replace=False))
            x, y, groups = x[keep], y[keep], groups[keep]
        xs, ys = self._fit_scalers(x, y)
        self.length_scale_ = self.length_scale_factor * median_distance(xs, self.kernel, seed=self.random_state)
        self.x_train_ = xs
        kernel = kernel_matrix(xs, xs, self.kernel, self.length_scale_)
        self.member_index_, self.member_coef_ = [], []
        names = np.unique(groups)
        for _ in range(self.n_members):
            if len(names) >= 3:
                chosen = rng.choice(names, max(1, int(round(self.member_fraction * len(names)))), replace=False)
                idx = np.flatnonzero(np.isin(groups, chosen))
            else:
                idx = np.sort(rng.choice(len(xs), max(2, int(self.member_fraction * len(xs))), replace=False))
            self.member_index_.append(idx)
            self.member_coef_.append(solve_krr(kernel[np.ix_(idx, idx)], ys[idx], self.alpha, overwrite=True))
        self.dual_coef_ = solve_krr(kernel, ys, self.alpha, overwrite=True)  # last: the kernel becomes its factor
        return self

    def _weights(self) -> np.ndarray:
        """(n_train, (1 + n_members) · n_states): the model's dual coefficients, then each member's, scattered to
        its training rows (zeros elsewhere), so one product with the kernel predicts the model and every member
        (copying each member's kernel columns cost as much as the kernel)."""
        n_states = self.dual_coef_.shape[1]
        w = np.zeros((len(self.x_train_), (1 + len(self.member_coef_)) * n_states))
        w[:, :n_states] = self.dual_coef_
        for m, (idx, coef) in enumerate(zip(self.member_index_, self.member_coef_), start=1):
            w[idx, m * n_states:(m + 1) * n_states] = coef
        return w

    def _predict_scaled(self, xs, chunk: int = 1024):
        n_states = self.dual_coef_.shape[1]
        weights = self._weights()
        means, stds = [], []
        for start in range(0, len(xs), chunk):
            k = kernel_matrix(xs[start:start + chunk], self.x_train_, self.kernel, self.length_scale_)
            both = (k @ weights).reshape(len(k), -1, n_states)
            means.append(both[:, 0])
            stds.append(both[:, 1:].std(1) if self.member_coef_ else np.zeros_like(means[-1]))
        if not means:
            return np.zeros((0, n_states)), np.zeros((0, n_states))
        return np.concatenate(means), np.concatenate(stds)

    def arrays_(self):
        out = {**super().arrays_(), "x_train_": self.x_train_, "dual_coef_": self.dual_coef_,
               "length_scale_": np.asarray(self.length_scale_)}
        for k, (idx, coef) in enumerate(zip(self.member_index_, self.member_coef_)):
            out[f"member{k}_index"], out[f"member{k}_coef"] = idx, coef
        return out

    @classmethod
    def from_arrays(cls, params, arrays):
        model = super().from_arrays(params, arrays)
        model.x_train_, model.dual_coef_ = arrays["x_train_"], arrays["dual_coef_"]
        model.length_scale_ = float(arrays["length_scale_"])
        model.member_index_ = [arrays[f"member{k}_index"] for k in range(model.n_members)]
        model.member_coef_ = [arrays[f"member{k}_coef"] for k in range(model.n_members)]
        return model


MODEL_CLASSES = {"mean": MeanRegressor, "ridge": RidgeRegressor, "mlp": MLPEnsemble, "krr": KernelRidge}
