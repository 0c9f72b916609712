"""Validation splits and hyperparameter choice for the surrogate, always by whole trajectories.

Consecutive frames of one trajectory are nearly identical, so a frame-level split measures memory, not
prediction. The held-out test set is whole trajectories; the cross-validation that picks hyperparameters
and the model runs on the *training* trajectories only (GroupKFold). With a single trajectory there is
nothing to hold out by trajectory: the split is then by contiguous time blocks, and says so.
"""

from __future__ import annotations

import logging
import time
from functools import partial

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold

from analysis.surrogate.models import (KernelRidge, MeanRegressor, MLPEnsemble, RidgeRegressor, kernel_from_distances, median_distance,
                                       pairwise_distances, safe_scale, solve_krr)
from analysis.surrogate.parallel import run_tasks

log = logging.getLogger(__name__)

# length scales in steps of √2: a factor-2 grid picked 4.0 on PyRAI2MD CH2NH2+ where 2.8 held out 10 % better
KRR_GRID = {"kernel": ["gaussian", "laplacian"], "length_scale_factor": [0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0],
            "alpha": [1e-8, 1e-6, 1e-4, 1e-2, 1e-1]}
# the last candidate reads the aligned Cartesian displacement (descriptors.aligned_cartesian), whose piecewise-linear
# energies a ReLU network follows: on the demo (3,000 training frames, learning rate 0.001) its held-out MAE was
# 0.046 eV against 0.104 for the tanh networks on 1/r (S1-S0 gap 0.051 against 0.136); learning rate 0.003 trained it
# in 88 instead of 207 epochs at 16,000 frames (gap 0.034 against 0.031 eV); the CV decides where it serves
MLP_GRID = [{"hidden_layer_sizes": [64, 64], "alpha": 1e-4}, {"hidden_layer_sizes": [128, 128], "alpha": 1e-4},
            {"hidden_layer_sizes": [64, 64], "alpha": 1e-2},
            {"hidden_layer_sizes": [64, 64], "alpha": 1e-1, "activation": "relu", "learning_rate_init": 3e-3,
             "descriptor": "aligned_cartesian"}]


def _identity(t):
    return t


def heldout_split(groups, test_fraction: float, random_state: int, test_trajectories=None):
    """(train, test, description): whole trajectories held out — ``test_trajectories`` when given, else a seeded
    choice — or the last ``test_fraction`` of the time of a single trajectory (``groups`` must then be in time
    order)."""
    groups = np.asarray(groups)
    names = np.unique(groups)
    if test_trajectories is not None:
        missing = sorted(set(test_trajectories) - set(names))
        if missing:
            raise ValueError(f"test trajectories {missing} have no frames with energies (have {list(names)})")
        held = np.isin(groups, list(test_trajectories))
        if held.all():
            raise ValueError("every trajectory is held out: nothing is left to train on")
        return (np.flatnonzero(~held), np.flatnonzero(held),
                f"held-out trajectories ({len(set(test_trajectories))} of {len(names)}, given)")
    if len(names) >= 2:
        # of 20 seeded trajectory splits, the one whose test share of *frames* is nearest test_fraction
        # (trajectories differ in length: with 2-5 of them one split can leave a handful of training frames)
        splits = GroupShuffleSplit(n_splits=20, test_size=test_fraction, random_state=random_state).split(groups, groups=groups)
        train, test = min(splits, key=lambda s: abs(len(s[1]) / len(groups) - test_fraction))
        return train, test, f"held-out trajectories ({len(np.unique(groups[test]))} of {len(names)}, GroupShuffleSplit)"
    n_test = max(1, int(round(test_fraction * len(groups))))
    index = np.arange(len(groups))
    return index[:-n_test], index[-n_test:], "held-out final time block of the only trajectory (no second trajectory to hold out)"


def cv_folds(groups, n_splits: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold over trajectories; contiguous time blocks (KFold, unshuffled) when there is only one."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups >= 2:
        return list(GroupKFold(n_splits=min(n_splits, n_groups)).split(groups, groups=groups))
    return list(KFold(n_splits=min(n_splits, len(groups))).split(groups))


def cv_words(groups) -> str:
    """How :func:`cv_folds` splits ``groups``, in words: "by trajectory", or by time blocks of the only one."""
    return "by trajectory" if len(np.unique(groups)) >= 2 else "by contiguous time blocks of the only training trajectory"


def mean_abs_error(y_true, y_pred) -> float:
    """Mean absolute error over frames and states (the selection score)."""
    return float(np.abs(np.asarray(y_pred) - np.asarray(y_true)).mean())


def _fit_task(make_model, x_fit, y_fit, groups_fit, x_val=None):
    """``make_model()`` fitted on the given frames and its fit time (s); given ``x_val``, only its (mean, spread)
    there (a fold's model is not shipped back from its worker)."""
    t0 = time.perf_counter()
    model = make_model().fit(x_fit, y_fit, groups_fit)
    if x_val is None:
        return model, round(time.perf_counter() - t0, 2)
    return model.predict(x_val, return_std=True)


def heldout_mae(make_model, x_fit, y_fit, groups_fit, x_test, truth_test, score_space=_identity) -> float:
    """MAE of ``make_model()`` fitted on the given frames, on the test frames, its predictions mapped by
    ``score_space`` (a learning-curve point). A task of :func:`run_tasks`, so it lives here: a worker process
    imports the task's module without pandas (:func:`analysis.surrogate.parallel.run_tasks`), and the
    learning curve's task in :mod:`analysis.surrogate.train` (which imports pandas) failed there, so its 12
    fits ran one after another."""
    return mean_abs_error(truth_test, score_space(make_model().fit(x_fit, y_fit, groups_fit).predict(x_test)))


def cross_validate_and_fit(factories: dict, x, y, groups, folds, refit: bool = True, n_jobs: int = 1):
    """Out-of-fold (mean, raw spread) of every model of ``factories`` (name → constructor) over ``folds`` and,
    with ``refit``, each model fitted on all frames, in one pool of ``n_jobs`` processes (:func:`run_tasks`): a
    final fit runs beside the folds' fits instead of after them. Give the heaviest models first.

    Returns (oof: name → (mean, spread), fitted: name → model, fit_seconds: name → s); the last two are empty
    without ``refit``."""
    tasks = [(name, None) for name in factories if refit] + [(name, val_idx) for name in factories for _, val_idx in folds]
    arguments = [(factories[name], x, y, groups) for name in factories if refit]
    arguments += [(factories[name], x[fit_idx], y[fit_idx], groups[fit_idx], x[val_idx]) for name in factories for fit_idx, val_idx in folds]
    oof = {name: (np.full(y.shape, np.nan), np.full(y.shape, np.nan)) for name in factories}
    fitted, fit_seconds = {}, {}
    for (name, val_idx), result in zip(tasks, run_tasks(_fit_task, arguments, n_jobs)):
        if val_idx is None:
            fitted[name], fit_seconds[name] = result
        else:
            oof[name][0][val_idx], oof[name][1][val_idx] = result
    return oof, fitted, fit_seconds


def out_of_fold_models(factories: dict, x, y, groups, folds, n_jobs: int = 1) -> dict:
    """Name → out-of-fold (mean, raw spread) of every model of ``factories`` (:func:`cross_validate_and_fit`)."""
    return cross_validate_and_fit(factories, x, y, groups, folds, refit=False, n_jobs=n_jobs)[0]


def _krr_fold_scores(x, y, fit_idx, val_idx, kind: str, grid: dict, score_space, random_state: int = 0) -> dict:
    """Validation MAE of every (length-scale factor, alpha) of ``grid`` for one fold and kernel: one distance matrix,
    one kernel per length scale, one Cholesky per alpha; a combination that fails to factorize is left out."""
    xf, yf = x[fit_idx], y[fit_idx]
    x_mean, x_scale = xf.mean(0), safe_scale(xf.std(0))
    y_mean, y_scale = yf.mean(0), safe_scale(yf.std(0))
    xs, xv, ys = (xf - x_mean) / x_scale, (x[val_idx] - x_mean) / x_scale, (yf - y_mean) / y_scale
    truth = score_space(y[val_idx])
    median = median_distance(xs, kind, seed=random_state)
    d_fit, d_val = pairwise_distances(xs, xs, kind), pairwise_distances(xv, xs, kind)
    scores = {}
    for factor in grid["length_scale_factor"]:
        k_fit, k_val = (kernel_from_distances(d, kind, factor * median) for d in (d_fit, d_val))
        for alpha in grid["alpha"]:
            try:
                coef = solve_krr(k_fit, ys, alpha)
            except np.linalg.LinAlgError:
                continue
            scores[(kind, factor, alpha)] = mean_abs_error(truth, score_space((k_val @ coef) * y_scale + y_mean))
    return scores


def _krr_cv_scores(x, y, folds, grid: dict, score_space, random_state: int = 0, n_jobs: int = 1) -> dict:
    """Mean CV MAE of every (kernel, length-scale factor, alpha) of ``grid`` (:func:`_krr_fold_scores` per fold and
    kernel, in ``n_jobs`` processes); combinations that fail to factorize in any fold are left out."""
    per_fold = run_tasks(_krr_fold_scores, [(x, y, fit_idx, val_idx, kind, grid, score_space, random_state)
                                            for fit_idx, val_idx in folds for kind in grid["kernel"]], n_jobs)
    scores = {}
    for fold_scores in per_fold:
        for key, mae in fold_scores.items():
            scores.setdefault(key, []).append(mae)
    return {k: float(np.mean(v)) for k, v in scores.items() if len(v) == len(folds)}


def tune_krr(x, y, groups, folds, grid=None, random_state: int = 0, score_space=None, n_jobs: int = 1) -> tuple[dict, float]:
    """Kernel, length-scale factor and alpha by cross-validated MAE over ``grid`` (default :data:`KRR_GRID`).
    ``score_space`` maps targets to the quantity the MAE is taken on (e.g. ladder → energies; default: the
    targets themselves). Returns (best params, its CV MAE in those units)."""
    grid = {**KRR_GRID, **(grid or {})}
    scores = _krr_cv_scores(x, y, folds, grid, score_space or _identity, random_state, n_jobs)
    if not scores:
        raise np.linalg.LinAlgError(f"no kernel ridge candidate of {grid} could be factorized in every fold")
    (kind, factor, alpha), best = min(scores.items(), key=lambda kv: kv[1])
    log.info("KRR: %s kernel, length scale %.2f x median distance, alpha %.0e: CV MAE %.4f", kind, factor, alpha, best)
    return {"kernel": kind, "length_scale_factor": float(factor), "alpha": float(alpha)}, float(best)


def grid_descriptors(grid=None) -> list[str]:
    """The descriptors the MLP candidates of ``grid`` (default :data:`MLP_GRID`) name besides the main one, in order."""
    return list(dict.fromkeys(entry["descriptor"] for entry in (grid or MLP_GRID) if entry.get("descriptor")))


def on_columns(params: dict, layout: dict | None) -> dict:
    """A candidate's parameters as a model takes them: its ``descriptor`` (default: the first part of ``layout``) →
    the ``columns`` it reads of the joined descriptor whose parts ``layout`` places
    (:func:`analysis.surrogate.descriptors.block_columns`; None: one descriptor, every column)."""
    out = {k: v for k, v in params.items() if k != "descriptor"}
    name = params.get("descriptor")
    if layout is None:
        if name:
            raise ValueError(f"candidate {params} names descriptor {name!r} but the models are given one descriptor")
        return out
    if name and name not in layout:
        raise ValueError(f"candidate {params} names descriptor {name!r}; the joined descriptor holds {list(layout)}")
    return {**out, "columns": layout[name or next(iter(layout))]}


def tune_mlp(x, y, groups, folds, grid=None, base=None, n_jobs: int = 1, layout=None):
    """MLP architecture/L2 (and descriptor: a candidate's ``descriptor`` names a part of the joined descriptor ``x``
    whose columns ``layout`` gives, the first part by default) by the cross-validated MAE of the whole ensemble, whose
    out-of-fold spread then serves the calibration without a second pass. Returns (best params, its CV MAE, its
    out-of-fold mean and spread)."""
    grid = grid or MLP_GRID
    base = dict(base or {})
    factories = {k: partial(MLPEnsemble, **{**base, **on_columns(params, layout)}) for k, params in enumerate(grid)}
    oof = out_of_fold_models(factories, x, y, groups, folds, n_jobs)
    results = []
    for k, params in enumerate(grid):
        mean, std = oof[k]
        results.append((mean_abs_error(y, mean), params, mean, std))
        log.info("MLP %s: CV MAE %.4f", params, results[-1][0])
    best, params, mean, std = min(results, key=lambda r: r[0])
    return dict(params), float(best), mean, std


def make_factories(krr_params: dict, mlp_params: dict, n_members: int, random_state: int, mlp_base=None, krr_base=None,
                   layout=None):
    """Constructors of every candidate model with the chosen hyperparameters; with ``layout`` (a joined descriptor's
    parts, :func:`on_columns`) ridge and KRR read its first part, the MLP the part its parameters name."""
    main = on_columns({}, layout)
    return {
        "mean": MeanRegressor,
        "ridge": partial(RidgeRegressor, alpha=1.0, **main),
        "krr": partial(KernelRidge, **{**(krr_base or {}), **krr_params, **main, "n_members": n_members, "random_state": random_state}),
        "mlp": partial(MLPEnsemble, **{**(mlp_base or {}), **on_columns(mlp_params, layout), "n_members": n_members,
                                       "random_state": random_state}),
    }


def blend(means, stds, weights):
    """Weighted mixture of model predictions: mean = Σ wᵢ μᵢ, spread² = Σ wᵢ (σᵢ² + (μᵢ − mean)²). ``weights``
    (n_models,) weigh whole models, (n_models, n_targets) each target on its own; normalized over the models."""
    weights = np.asarray(weights, float)
    weights = weights / weights.sum(axis=0, keepdims=True)
    mean = sum(w * m for w, m in zip(weights, means))
    var = sum(w * (s**2 + (m - mean) ** 2) for w, m, s in zip(weights, means, stds))
    return mean, np.sqrt(var)


CANDIDATES = {"mean": ("mean",), "ridge": ("ridge",), "krr": ("krr",), "mlp": ("mlp",), "krr+mlp": ("krr", "mlp"),
              "per-target": ("krr", "mlp")}
PER_TARGET_CHOICES = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])  # KRR, MLP or their average, for one target


def per_target_weights(oof: dict, y_true, parts=("krr", "mlp")) -> np.ndarray:
    """(2, n_targets) weights of the two ``parts`` that give each target (S0 and each gap of the ladder) the KRR,
    the MLP or their average, whichever has the lowest out-of-fold MAE on that target: a kernel that is best on
    S0 need not be best on the S1–S0 gap."""
    y_true = np.asarray(y_true, float)
    errors = [np.abs(sum(w * oof[p][0] for w, p in zip(row, parts)) - y_true).mean(axis=0) for row in PER_TARGET_CHOICES]
    return PER_TARGET_CHOICES[np.argmin(errors, axis=0)].T


def per_target_out_of_fold(oof: dict, y_true, folds, parts=("krr", "mlp")):
    """Out-of-fold (mean, spread) of the 'per-target' candidate with its choice cross-validated too: each fold is
    predicted with the weights :func:`per_target_weights` picks on the other folds' out-of-fold predictions, so
    its CV MAE carries no optimism from choosing on the frames it is scored on (with few trajectories a choice
    per target is easily a choice of noise)."""
    y_true = np.asarray(y_true, float)
    mean, std = np.full(y_true.shape, np.nan), np.full(y_true.shape, np.nan)
    for _, val_idx in folds:
        other = np.setdiff1d(np.arange(len(y_true)), val_idx)
        w = per_target_weights({p: (oof[p][0][other], oof[p][1][other]) for p in parts}, y_true[other], parts)
        mean[val_idx], std[val_idx] = blend([oof[p][0][val_idx] for p in parts], [oof[p][1][val_idx] for p in parts], w)
    return mean, std


SIMPLICITY = ("krr", "mlp", "krr+mlp", "per-target")  # the predictors, simplest first (mean and ridge are baselines)


# from this many training trajectories on, the candidate with the lowest CV MAE is the predictor (each of 3 folds
# then validates on >= 6 trajectories); below, the one-standard-error rule. Measured on the independently planted
# ensembles with energies (bench/surrogate.py --planted; 7 of 32-40 training trajectories): the KRR/MLP average had
# the lowest CV MAE on 5, the rule kept the KRR on 4 of those, and the average held out better on 3 of the 4 (0.356 ->
# 0.344, 0.373 -> 0.354, 0.171 -> 0.162 eV; 0.523 -> 0.531 worse): over the 8 planted sets the geometric mean of
# held-out MAE / a reference KRR tuned there went 0.953 -> 0.938, worse than that KRR on 1 set instead of 2. On the
# real sets of 1-4 training trajectories (16 held-out splits) the lowest CV MAE lost where it differed (PyRAI2MD
# CH2NH2+ traj1 held out: 0.182 against 0.137 eV; cyclohexadiene TRAJ1: 2.484 against 2.387). At 11 and 17
# trajectories (planted pyridine 2ch; the tests' 24-trajectory demo) it held out better too (0.321 -> 0.292, 0.084 ->
# 0.075 eV), but the demo's ±2σ then held 99.2 % of held-out errors (one of its 3 folds had 0.48 eV MAE, the others
# 0.11 and 0.08, and the calibration follows the folds): too few trajectories to trust either the choice or its
# calibration, so the threshold is 20.
LOWEST_CV_MIN_TRAJECTORIES = 20


def one_standard_error_choice(fold_maes: dict, n_trajectories: int = 0) -> tuple[str, float]:
    """The simplest predictor (:data:`SIMPLICITY`) whose CV MAE is within one standard error of the best
    candidate's (Breiman et al. 1984; Hastie, Tibshirani & Friedman, ESL §7.10): with two or three folds of one
    trajectory each, a lower CV MAE is often noise, and the more flexible choice then loses on new trajectories.
    With ``n_trajectories`` (training trajectories) of at least :data:`LOWEST_CV_MIN_TRAJECTORIES` the folds are
    not that noisy, and the candidate with the lowest CV MAE is chosen.
    ``fold_maes``: candidate → MAE of each fold. A baseline (mean, ridge) is chosen only when it is the best.
    Returns (name, the standard error of the best candidate's fold MAEs)."""
    mean = {name: float(np.mean(v)) for name, v in fold_maes.items()}
    best = min(mean, key=mean.get)
    v = np.asarray(fold_maes[best], float)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    if best not in SIMPLICITY or n_trajectories >= LOWEST_CV_MIN_TRAJECTORIES:
        return best, se
    return next(name for name in SIMPLICITY if name in mean and mean[name] <= mean[best] + se), se


def fold_errors(candidates: dict, y_true, folds, n_states: int) -> dict:
    """Candidate → MAE (mean over the first ``n_states`` columns) of each fold's validation frames."""
    return {name: [mean_abs_error(np.asarray(y_true)[val, :n_states], mean[val, :n_states]) for _, val in folds]
            for name, (mean, _) in candidates.items()}


def candidate_weights(name: str, per_target=None) -> np.ndarray:
    """Weights of a candidate's parts (:data:`CANDIDATES`): equal, or ``per_target`` for 'per-target'."""
    if name == "per-target":
        return np.asarray(per_target, float)
    return np.ones(len(CANDIDATES[name]))


def candidate_predictions(oof: dict, names=CANDIDATES, per_target=None):
    """Out-of-fold (mean, spread) of every candidate, blends included, from the single models' ones
    ('per-target' only when its ``per_target`` weights are given)."""
    out = {}
    for name, parts in names.items():
        if all(p in oof for p in parts) and (name != "per-target" or per_target is not None):
            out[name] = blend([oof[p][0] for p in parts], [oof[p][1] for p in parts], candidate_weights(name, per_target))
    return out
