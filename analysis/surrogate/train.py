"""Train and validate the surrogate: geometry descriptor → state energies (eV), with a calibrated uncertainty.

:func:`fit_surrogate` is the stage on in-memory frames; :func:`train_surrogate` reads the stores and writes
the model files, metrics and tables. The procedure:

1. Whole trajectories are held out for testing (:func:`analysis.surrogate.selection.heldout_split`).
2. On the training trajectories only (GroupKFold), kernel ridge regression (kernel, length scale, ridge)
   and the MLP (width/depth, L2, activation, descriptor) are tuned, and every candidate — training mean, ridge, tuned KRR, an
   ensemble of ``n_members`` MLPs, and the KRR/MLP average — is scored out of fold.
3. The candidate with the lowest MAE becomes the predictor — with fewer than 20 training trajectories, the simplest
   within one standard error of the lowest (:func:`analysis.surrogate.selection.one_standard_error_choice`; the MLP only if
   it earns it); its committee spread is calibrated on the same predictions. When the tuning ran on a
   subsample (more training frames than ``cv_max_frames``), the tuned models are cross-validated once more on
   all training frames and this choice is made there: an MLP gains more from 16k frames than from 3k, and a
   choice made at 3k under-rated it (demo: the choice at 3k held out 0.035 eV, at 16k 0.023 eV).
4. Every candidate is refitted on all training trajectories and scored on the held-out ones.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.io.store import usable_frames
from analysis.settings import defaults
from analysis.surrogate import selection
from analysis.surrogate.calibration import calibrated_sigma, calibration_factors, coverage, reliability_curve
from analysis.surrogate.descriptors import block_columns, descriptor, take_columns
from analysis.surrogate.domain import TrainingDomain
from analysis.surrogate.frames import FrameSet, SurrogateSkipped, analysed_selection, collect_frames
from analysis.surrogate.modelfile import SurrogateModel, save_model
from analysis.surrogate.parallel import run_tasks
from analysis.surrogate.targets import energies_of_ladder, from_ladder, to_ladder, with_gap

log = logging.getLogger(__name__)

# the config schema's defaults (written once, there), the grids left to selection.MLP_GRID / KRR_GRID, and the
# fewest training frames worth a fit
DEFAULTS = {**defaults("surrogate"), "mlp_grid": None, "krr_grid": None, "min_train_frames": 10}
MODEL_WORDS = {"mean": "training mean", "ridge": "ridge regression", "krr": "kernel ridge regression",
               "mlp": "MLP ensemble", "krr+mlp": "average of kernel ridge and MLP ensemble",
               "per-target": "per-target choice of kernel ridge, MLP ensemble or their average"}


@dataclass
class SurrogateFit:
    """What :func:`fit_surrogate` learned and measured."""

    model: SurrogateModel
    metrics: dict
    heldout: pd.DataFrame  # one row per held-out frame: truth, prediction and σ of the chosen model
    learning_curve: pd.DataFrame  # model, n_train_frames, mae_ev


def _scores(truth, pred, names, n_states) -> dict:
    """MAE/RMSE per target column (energies + gap), and the mean MAE over the states."""
    err = np.abs(pred - truth)
    out = {name: {"mae_ev": float(err[:, k].mean()), "rmse_ev": float(np.sqrt((err[:, k] ** 2).mean()))} for k, name in enumerate(names)}
    out["mean_mae_ev"] = float(err[:, :n_states].mean())
    return out


def _energies(candidates: dict) -> dict:
    """Ladder-space (mean, spread) of every candidate → energies with the gap appended."""
    return {name: from_ladder(mean, std) for name, (mean, std) in candidates.items()}


@dataclass
class Choice:
    """What the tuning on the training trajectories decided (:func:`tune_and_choose`)."""

    chosen: str                      # the predictor: a key of selection.CANDIDATES
    basis: str                       # where the choice was scored, in words
    mae: dict                        # candidate → its MAE (eV) there
    standard_error: float            # of the best candidate's fold MAEs (the one-standard-error rule)
    cv_mae: dict                     # candidate → its cross-validated MAE (eV)
    per_target: np.ndarray           # (2, n_targets) KRR/MLP weights of the per-target candidate
    calibration: np.ndarray          # (2, n_targets) spread scale and floor of the chosen one
    hyperparameters: dict            # {"krr": ..., "mlp": ...}
    factories: dict                  # name → constructor of each single model, tuned
    cross_validation: str            # the CV in words
    fitted: dict                     # name → that model fitted on all the training frames
    fit_seconds: dict                # name → its fit time (s)
    fold_mae: dict                   # candidate → its MAE (eV) on each fold where the choice was made


def tune_and_choose(x, y, groups, truth, n_states: int, p: dict, random_state: int = 0, n_jobs: int = 1, layout=None) -> Choice:
    """Tune KRR and MLP by GroupKFold on (a subsample of) the training frames ``x``/``y`` (ladder targets),
    score every candidate out of fold, and choose the predictor by the one-standard-error rule — by a second
    GroupKFold over all the training frames when the tuning ran on a subsample (see the module docstring) —
    and fit every candidate on all of ``x`` (beside that second CV's fits).
    ``truth``: energies with the gap (:func:`with_gap`) of the same frames; the independent fits run in ``n_jobs``
    processes (:mod:`analysis.surrogate.parallel`). ``layout``: the parts of a joined descriptor ``x``
    (:func:`joined_descriptor`); KRR and ridge read the first, each MLP candidate the one it names."""
    rng = np.random.default_rng(random_state)
    main = selection.on_columns({}, layout).get("columns")
    cv = np.arange(len(x)) if len(x) <= p["cv_max_frames"] else np.sort(rng.choice(len(x), p["cv_max_frames"], replace=False))
    folds = selection.cv_folds(groups[cv], p["cv_folds"])
    xc, yc, gc = x[cv], y[cv], groups[cv]
    krr_params, _ = selection.tune_krr(take_columns(xc, main), yc, gc, folds, p["krr_grid"], random_state, energies_of_ladder, n_jobs)
    mlp_params, _, *mlp_oof = selection.tune_mlp(xc, yc, gc, folds, p["mlp_grid"],
                                                 {**p["mlp"], "n_members": p["n_members"], "random_state": random_state}, n_jobs,
                                                 layout)
    factories = selection.make_factories(krr_params, mlp_params, p["n_members"], random_state, p["mlp"],
                                         {"max_frames": p["krr_max_frames"]}, layout)
    oof = selection.out_of_fold_models({name: make for name, make in factories.items() if name != "mlp"}, xc, yc, gc, folds, n_jobs)
    oof["mlp"] = tuple(mlp_oof)
    cv_candidates = _candidates(oof, yc, folds)
    cv_mae = {name: selection.mean_abs_error(truth[cv, :n_states], mean[:, :n_states]) for name, (mean, _) in cv_candidates.items()}
    heaviest_first = {name: factories[name] for name in ("mlp", "krr", "ridge", "mean")}
    if len(x) > len(cv):  # the tuning ran on a subsample: choose and calibrate at (nearly) the deployed size
        choice_folds = selection.cv_folds(groups, p["cv_folds"])
        full_oof, fitted, fit_seconds = selection.cross_validate_and_fit(heaviest_first, x, y, groups, choice_folds, n_jobs=n_jobs)
        choice_truth, choice_candidates = truth, _candidates(full_oof, y, choice_folds)
        per_target = selection.per_target_weights(full_oof, y)
        basis = f"{len(choice_folds)}-fold cross-validation {selection.cv_words(groups)} on all {len(x):,} training frames"
    else:
        _, fitted, fit_seconds = selection.cross_validate_and_fit(heaviest_first, x, y, groups, [], n_jobs=n_jobs)
        choice_truth, choice_folds, choice_candidates = truth[cv], folds, cv_candidates
        per_target, basis = selection.per_target_weights(oof, yc), "cross-validation"
    fold_maes = selection.fold_errors(choice_candidates, choice_truth, choice_folds, n_states)
    chosen, standard_error = selection.one_standard_error_choice(fold_maes, len(np.unique(groups)))
    return Choice(chosen, basis, {name: float(np.mean(v)) for name, v in fold_maes.items()}, standard_error, cv_mae, per_target,
                  calibration_factors(choice_truth, *choice_candidates[chosen]), {"krr": krr_params, "mlp": mlp_params},
                  factories, f"{len(folds)}-fold cross-validation {selection.cv_words(gc)} on {len(cv)} training frames", fitted, fit_seconds,
                  {name: [float(v) for v in maes] for name, maes in fold_maes.items()})


def fit_surrogate(frames: FrameSet, params: dict | None = None, random_state: int = 0, n_jobs: int = 1,
                  test_trajectories=None) -> SurrogateFit:
    """Tune, choose, calibrate and validate the surrogate on ``frames`` (see the module docstring), the
    independent fits in ``n_jobs`` processes (the results do not depend on it). ``test_trajectories``: the
    trajectory ids to hold out (default: :func:`analysis.surrogate.selection.heldout_split`'s seeded choice).

    Raises
    ------
    SurrogateSkipped
        too few frames to train and test on.
    """
    p = {**DEFAULTS, **(params or {})}
    p["mlp"] = {**DEFAULTS["mlp"], **(p["mlp"] or {})}
    t_start = time.perf_counter()
    joined = joined_descriptor(p["descriptor"], p["mlp_grid"])
    layout = block_columns(joined, len(frames.symbols))
    x = descriptor(joined, frames.coords_angstrom, frames.coords_angstrom[0])
    y, groups = to_ladder(frames.energies_ev), np.asarray(frames.trajectory_id)
    truth, n_states = with_gap(frames.energies_ev), frames.energies_ev.shape[1]
    train, test, split = selection.heldout_split(groups, p["test_fraction"], random_state, test_trajectories)
    if len(train) < p["min_train_frames"] or len(test) < 1:
        raise SurrogateSkipped(f"only {len(train)} training / {len(test)} test frames with energies (need ≥ {p['min_train_frames']})")
    names = list(frames.state_names) + ([f"gap_{frames.state_names[1]}_{frames.state_names[0]}"] if y.shape[1] > 1 else [])
    c = tune_and_choose(x[train], y[train], groups[train], truth[train], n_states, p, random_state, n_jobs, layout)
    domain = TrainingDomain(random_state=random_state, columns=layout[p["descriptor"]])
    domain.fit(x[train], selection.cv_folds(groups[train], p["cv_folds"]))
    test_pred = {name: model.predict(x[test], return_std=True) for name, model in c.fitted.items()}
    test_candidates = _energies(selection.candidate_predictions(test_pred, per_target=c.per_target))
    model = SurrogateModel([(part, c.fitted[part]) for part in selection.CANDIDATES[c.chosen]],
                           selection.candidate_weights(c.chosen, c.per_target).tolist(), c.calibration, joined,
                           frames.coords_angstrom[0], frames.symbols, frames.state_names,
                           {"chosen": c.chosen, "hyperparameters": c.hyperparameters, **_selection_info(frames)}, domain)
    mean, std = test_candidates[c.chosen]
    sigma = calibrated_sigma(std, c.calibration)
    models = {name: {**_scores(truth[test], m, names, n_states), "cv_mae_ev": round(c.cv_mae[name], 5),
                     **({"full_cv_mae_ev": round(c.mae[name], 5)} if c.basis != "cross-validation" else {}),
                     "fit_seconds": round(sum(c.fit_seconds[part] for part in selection.CANDIDATES[name]), 2)}
              for name, (m, _) in test_candidates.items()}
    heldout = _heldout_table(frames.take(test), mean, sigma, names)
    heldout["outside_training_domain"] = ~domain.inside(x[test])
    metrics = {
        "split": split, "cross_validation": c.cross_validation,
        "n_train_trajectories": int(len(np.unique(groups[train]))), "n_test_trajectories": int(len(np.unique(groups[test]))),
        "n_train_frames": int(len(train)), "n_test_frames": int(len(test)), "descriptor": p["descriptor"],
        "targets": names, "random_state": random_state, "n_members": p["n_members"], "hyperparameters": c.hyperparameters,
        "chosen": c.chosen, "choice_basis": c.basis, "choice_standard_error_ev": round(c.standard_error, 5),
        "choice_fold_mae_ev": {name: [round(v, 5) for v in maes] for name, maes in c.fold_mae.items()},
        "choice": choice_words(c.chosen, c.mae, c.standard_error, c.basis),
        "per_target": {"targets": ["S0" if k == 0 else f"rung {k}" for k in range(c.per_target.shape[1])],
                       "krr_weight": c.per_target[0].tolist(), "mlp_weight": c.per_target[1].tolist()},
        "models": models, "uncertainty": _uncertainty(truth[test], mean, sigma, c.calibration, names),
        "errors_by_gap": _binned_errors(heldout, names, "gap") if len(names) > len(frames.state_names) else [],
        "errors_by_time_to_hop": _binned_errors(heldout, names, "time_to_hop"),
        "domain": _domain_metrics(heldout, names, domain),
        "left_out": dict(frames.left_out),
    }
    curve = (learning_curve(x[train], y[train], groups[train], x[test], frames.energies_ev[test], c.factories, random_state,
                            n_jobs=n_jobs)
             if p["learning_curve"] else pd.DataFrame())
    metrics["train_seconds"] = round(time.perf_counter() - t_start, 1)
    log.info("surrogate: chose %s (MAE %.4f eV in %s); held-out MAE %.4f eV, ±2σ coverage %.2f; %.1f s", c.chosen,
             c.mae[c.chosen], c.basis, models[c.chosen]["mean_mae_ev"], metrics["uncertainty"]["coverage_2sigma"],
             metrics["train_seconds"])
    return SurrogateFit(model, metrics, heldout, curve)


def joined_descriptor(main: str, mlp_grid=None) -> str:
    """The descriptor the surrogate computes: ``main`` (KRR's, ridge's and the MLP's default) joined by ``+`` with
    every other descriptor an MLP candidate of ``mlp_grid`` names (:func:`analysis.surrogate.descriptors.descriptor`)."""
    return "+".join(dict.fromkeys([main, *selection.grid_descriptors(mlp_grid)]))


def _selection_info(frames: FrameSet) -> dict:
    """The model file's record of the analysed atoms (``atoms``, 0-based, and ``system_symbols``) when the frames are
    a part of the simulated system: a geometry of the whole system is then cut to them before a prediction."""
    return {} if frames.selection is None else frames.selection.to_record()


def _uncertainty(truth, mean, sigma, calibration, names) -> dict:
    """Calibration factors, ±1σ/±2σ coverage and the reliability curve on the held-out frames."""
    levels, observed = reliability_curve(truth, mean, sigma)
    return {"calibration": {n: {"scale": float(c), "floor_ev": float(f)} for n, c, f in zip(names, *calibration)},
            "coverage_1sigma": coverage(truth, mean, sigma, 1.0), "coverage_2sigma": coverage(truth, mean, sigma, 2.0),
            "reliability": {"expected": levels.round(4).tolist(), "observed": observed.round(4).tolist()}}


def _domain_metrics(heldout: pd.DataFrame, names, domain: TrainingDomain) -> dict:
    """Threshold of the training domain and, on the held-out frames, the share outside it and the MAE (mean over
    states, eV) inside and outside."""
    states = [n for n in names if not n.startswith("gap_")]
    err = np.mean([np.abs(heldout[f"{n}_pred_ev"] - heldout[f"{n}_true_ev"]) for n in states], axis=0)
    out = heldout["outside_training_domain"].to_numpy(bool)
    return {"threshold": domain.threshold_, "quantile": domain.quantile, "heldout_fraction_outside": float(out.mean()),
            "heldout_mae_inside_ev": float(err[~out].mean()) if (~out).any() else None,
            "heldout_mae_outside_ev": float(err[out].mean()) if out.any() else None}


def choice_words(chosen: str, mae: dict, se: float = 0.0, basis: str = "cross-validation") -> str:
    """One sentence saying which model predicts and why (``mae``: candidate → its MAE in ``basis``), naming the
    MLP when it lost."""
    lowest = min(mae, key=mae.get)
    if chosen == lowest:
        best = f"The predictor is the {MODEL_WORDS[chosen]}: lowest MAE ({mae[chosen]:.3f} eV) in {basis}"
    else:
        best = (f"The predictor is the {MODEL_WORDS[chosen]}: MAE {mae[chosen]:.3f} eV in {basis}, within one "
                f"standard error ({se:.3f} eV) of the lowest, {mae[lowest]:.3f} eV ({MODEL_WORDS[lowest]}), and "
                "simpler (one-standard-error rule)")
    if chosen != "mlp" and "mlp" in mae:
        return best + f"; the MLP ensemble alone reached {mae['mlp']:.3f} eV there."
    return best + "."


def _candidates(predictions: dict, y_true, folds) -> dict:
    """Energies (mean, spread) of every candidate from the single models' ladder predictions on the same frames,
    the per-target blend with its choice cross-validated over ``folds``."""
    ladder = {**selection.candidate_predictions(predictions),
              "per-target": selection.per_target_out_of_fold(predictions, y_true, folds)}
    return _energies(ladder)


def _heldout_table(frames: FrameSet, pred, sigma, names) -> pd.DataFrame:
    truth = with_gap(frames.energies_ev)
    table = pd.DataFrame({"trajectory_id": frames.trajectory_id, "time_fs": frames.time_fs, "time_to_hop_fs": frames.time_to_hop_fs})
    for k, name in enumerate(names):
        table[f"{name}_true_ev"], table[f"{name}_pred_ev"], table[f"{name}_sigma_ev"] = truth[:, k], pred[:, k], sigma[:, k]
    return table


def _binned_errors(heldout: pd.DataFrame, names, by: str) -> list[dict]:
    """MAE (mean over states) of the chosen model in bins of the true first gap or of |time − first hop|."""
    states = names[:-1] if by == "gap" else [n for n in names if not n.startswith("gap_")]
    err = np.mean([np.abs(heldout[f"{n}_pred_ev"] - heldout[f"{n}_true_ev"]) for n in states], axis=0)
    if by == "gap":
        value, edges, unit = heldout[f"{names[-1]}_true_ev"].to_numpy(), [-np.inf, 0.25, 0.5, 1.0, 2.0, np.inf], "eV"
    else:
        value, edges, unit = np.abs(heldout["time_to_hop_fs"].to_numpy()), [0, 10, 50, 200, np.inf], "fs"
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (value >= lo) & (value < hi)
        if inside.any():
            out.append({"bin": f"{lo:g}–{hi:g} {unit}", "n_frames": int(inside.sum()), "mae_ev": float(err[inside].mean())})
    if by != "gap" and np.isnan(value).any():
        out.append({"bin": "never hops", "n_frames": int(np.isnan(value).sum()), "mae_ev": float(err[np.isnan(value)].mean())})
    return out


def learning_curve(x_train, y_train, g_train, x_test, y_test, factories, random_state: int = 0, sizes=None,
                   n_jobs: int = 1) -> pd.DataFrame:
    """Held-out MAE (eV, mean over states) of KRR and of one MLP against the number of training frames (seeded
    subsets, 100 … all); ``y_train`` in ladder form (:mod:`analysis.surrogate.targets`), ``y_test`` energies.
    The fits run in ``n_jobs`` processes."""
    n = len(x_train)
    sizes = sizes or sorted({s for s in (100, 300, 1000, 3000, 10000) if s < n} | {n})
    rng = np.random.default_rng(random_state)
    subsets = [np.sort(rng.choice(n, size, replace=False)) if size < n else np.arange(n) for size in sizes]
    single = {"krr": partial(factories["krr"], n_members=0), "mlp": partial(factories["mlp"], n_members=1)}
    points = [(name, idx) for idx in subsets for name in ("krr", "mlp")]
    maes = run_tasks(selection.heldout_mae, [(single[name], x_train[idx], y_train[idx], g_train[idx], x_test, y_test, energies_of_ladder)
                                             for name, idx in points], n_jobs)
    return pd.DataFrame([{"model": name, "n_train_frames": len(idx), "mae_ev": mae} for (name, idx), mae in zip(points, maes)])


def train_surrogate(store_paths, trajectories_parquet, metrics_out, model_dir, params: dict | None = None,
                    frame_stride: int = 1, max_frames: int = 20000, random_state: int = 0, n_jobs: int = 1,
                    topology_json=None) -> dict:
    """Read the frames of ok trajectories, :func:`fit_surrogate`, write ``model_dir/`` and ``metrics_out``.

    ``topology_json``: the features' topology, whose analysed atoms (``features.atoms``) the surrogate learns from
    (None: every atom).

    ``model_dir`` receives ``model.json`` + ``model.npz`` (see :mod:`analysis.surrogate.modelfile`),
    ``heldout_predictions.csv`` and ``learning_curve.csv``. When there is nothing to train on, or training fails,
    both the metrics and ``model_dir/skipped.json`` say why and the run goes on (the report says it too).
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    Path(metrics_out).parent.mkdir(parents=True, exist_ok=True)
    try:
        frames = collect_frames(store_paths, usable_frames(trajectories_parquet), frame_stride, max_frames, random_state,
                                atoms=analysed_selection(topology_json))
        fit = fit_surrogate(frames, params, random_state, n_jobs)
    except Exception as exc:  # noqa: BLE001 - the channels report must not be lost to the surrogate
        if isinstance(exc, SurrogateSkipped):
            log.warning("surrogate skipped: %s", exc)
            skipped = {"skipped": str(exc)}
        else:
            log.exception("surrogate failed")
            skipped = {"skipped": f"surrogate failed ({type(exc).__name__}: {exc}); the traceback is in the surrogate log"}
        (model_dir / "skipped.json").write_text(json.dumps(skipped, indent=1), encoding="utf-8")
        Path(metrics_out).write_text(json.dumps(skipped, indent=1), encoding="utf-8")
        return skipped
    save_model(fit.model, model_dir)
    fit.heldout.to_csv(model_dir / "heldout_predictions.csv", index=False, float_format="%.5f")
    fit.learning_curve.to_csv(model_dir / "learning_curve.csv", index=False, float_format="%.5f")
    Path(metrics_out).write_text(json.dumps(fit.metrics, indent=1), encoding="utf-8")
    return fit.metrics
