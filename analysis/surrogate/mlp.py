"""An ensemble of multilayer perceptrons trained together in NumPy (Adam, minibatches, early stopping).

All members share one array per layer, shape (n_members, n_in, n_out), so one batched matrix product
trains five networks at the cost of a few calls; each member has its own initialization and minibatch order.
The arithmetic is scikit-learn's ``MLPRegressor`` (squared loss, L2 ``alpha`` scaled by the batch size,
Glorot-uniform initialization, Adam with β = (0.9, 0.999)). Early stopping holds out whole *trajectories*
(when there are ≥ 4; else the end of each) rather than random frames, so a network is stopped when it stops generalizing to new
trajectories, not to the next frame of the ones it saw. Measured against ``MLPRegressor`` on the same
frames: see the README (surrogate).
"""

from __future__ import annotations

import numpy as np



def _tanh(z):
    """tanh(z) = 2 / (1 + exp(−2z)) − 1: in float32, 1.7× faster than ``np.tanh`` (measured; the two tanh layers
    were a fifth of a training step), within 1e-7 of it, and exactly ±1 where exp over/underflows."""
    with np.errstate(over="ignore"):  # exp(−2z) = inf for z ≪ 0 gives 2/inf − 1 = −1, as it should
        e = np.exp(z * z.dtype.type(-2.0))
    e += 1.0
    np.divide(2.0, e, out=e)
    e -= 1.0
    return e


ACTIVATIONS = {
    "tanh": (_tanh, lambda a: 1.0 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
}


def forward(x, weights, biases, activation: str):
    """Outputs of every member: x (n, n_in) or (m, n, n_in) → (m, n, n_out); also the hidden activations.

    Computed in the weights' dtype (float32: training and prediction use the same arithmetic)."""
    act = ACTIVATIONS[activation][0]
    x = np.asarray(x, dtype=weights[0].dtype)
    h = x if x.ndim == 3 else np.broadcast_to(x, (weights[0].shape[0], *x.shape))
    hidden = []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        h = np.matmul(h, w) + b
        if layer < len(weights) - 1:
            h = act(h)
            hidden.append(h)
    return h, hidden


def _validation_split(groups, n, rng, fraction: float = 0.1):
    """Fit/validation frame indices: whole trajectories held out when there are ≥ 4, else the last
    ``fraction`` of each trajectory's frames (a later stretch of time, less alike than random frames)."""
    names = np.unique(groups)
    if len(names) >= 4:
        held = rng.choice(names, max(1, int(round(fraction * len(names)))), replace=False)
        val = np.isin(groups, held)
    else:
        val = np.zeros(n, bool)
        for name in names:
            members = np.flatnonzero(groups == name)
            val[members[len(members) - max(1, int(round(fraction * len(members)))):]] = True
    return np.flatnonzero(~val), np.flatnonzero(val)


def _initial_parameters(sizes, n_members: int, rng):
    """Glorot-uniform weights and biases, (n_members, n_in, n_out) / (n_members, 1, n_out) per layer, float32."""
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-bound, bound, (n_members, n_in, n_out)).astype(np.float32))
        biases.append(rng.uniform(-bound, bound, (n_members, 1, n_out)).astype(np.float32))
    return weights, biases


def _gradients(xb, yb, weights, biases, activation: str, alpha: float):
    """Gradients of the squared loss + L2 (scikit-learn's scaling) on one minibatch of every member."""
    out, hidden = forward(xb, weights, biases, activation)
    derivative = ACTIVATIONS[activation][1]
    delta = out - yb
    n_b = xb.shape[1]
    grads_w, grads_b = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        inputs = hidden[layer - 1] if layer > 0 else xb
        grads_w[layer] = (np.matmul(inputs.transpose(0, 2, 1), delta) + np.float32(alpha) * weights[layer]) / np.float32(n_b)
        grads_b[layer] = delta.mean(axis=1, keepdims=True)
        if layer > 0:
            delta = np.matmul(delta, weights[layer].transpose(0, 2, 1)) * derivative(hidden[layer - 1])
    return grads_w + grads_b


def _adam_update(params, grads, moment1, moment2, step: int, learning_rate: float) -> None:
    """One Adam step (β = 0.9, 0.999; ε = 1e-8) on every parameter array, in place."""
    correction = np.float32(learning_rate * np.sqrt(1.0 - 0.999**step) / (1.0 - 0.9**step))
    for p, g, m1, m2 in zip(params, grads, moment1, moment2):
        m1 *= np.float32(0.9)
        m1 += np.float32(0.1) * g
        m2 *= np.float32(0.999)
        m2 += np.float32(0.001) * g * g
        p -= correction * m1 / (np.sqrt(m2) + 1e-8)


def train_ensemble(x, y, groups=None, hidden_layer_sizes=(64, 64), activation: str = "tanh", alpha: float = 1e-4,
                   learning_rate: float = 1e-3, max_epochs: int = 500, batch_size: int = 200, patience: int = 10,
                   n_members: int = 5, random_state: int = 0):
    """Train ``n_members`` MLPs on standardized ``x`` (n, n_in) → ``y`` (n, n_out).

    Returns (weights, biases, n_epochs): lists of arrays (n_members, n_in, n_out) / (n_members, 1, n_out)
    holding each member's best-validation parameters.
    """
    rng = np.random.default_rng(random_state)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    groups = np.arange(len(x)) if groups is None else np.asarray(groups)
    fit_idx, val_idx = _validation_split(groups, len(x), rng) if len(x) >= 20 else (np.arange(len(x)), np.arange(len(x)))
    weights, biases = _initial_parameters([x.shape[1], *hidden_layer_sizes, y.shape[1]], n_members, rng)
    params = weights + biases
    moment1 = [np.zeros_like(p) for p in params]
    moment2 = [np.zeros_like(p) for p in params]
    best = [p.copy() for p in params]
    best_loss = np.full(n_members, np.inf)
    x_fit, y_fit, x_val, y_val = x[fit_idx], y[fit_idx], x[val_idx], y[val_idx]
    batch = min(batch_size, len(x_fit))
    step, stale, epoch = 0, 0, 0
    for epoch in range(1, max_epochs + 1):
        order = rng.permuted(np.tile(np.arange(len(x_fit)), (n_members, 1)), axis=1)
        for start in range(0, len(x_fit), batch):
            idx = order[:, start:start + batch]
            step += 1
            _adam_update(params, _gradients(x_fit[idx], y_fit[idx], weights, biases, activation, alpha), moment1, moment2,
                         step, learning_rate)
        val_loss = ((forward(x_val, weights, biases, activation)[0] - y_val) ** 2).mean(axis=(1, 2))
        improved = val_loss < np.where(np.isfinite(best_loss), best_loss * (1.0 - 1e-4), np.inf)
        if improved.any():
            for b, p in zip(best, params):
                b[improved] = p[improved]
            best_loss = np.where(improved, val_loss, best_loss)
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    n_layers = len(weights)
    return best[:n_layers], best[n_layers:], epoch
