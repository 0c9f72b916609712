"""Train and validate the MLP surrogate: geometry descriptor → state energies (eV).

Validation holds out whole *trajectories* (GroupShuffleSplit), never frames of a training trajectory,
because consecutive frames of one trajectory are nearly identical. The MLP is compared with two
baselines on the same split: the training mean, and ridge regression on the same descriptor.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupShuffleSplit
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analysis.io.store import Store, usable_frames
from analysis.surrogate.descriptors import DESCRIPTORS

log = logging.getLogger(__name__)


class SurrogateSkipped(RuntimeError):
    """The ensemble gives nothing to train on (no ok trajectory, no per-state energies, < 2 trajectories)."""


def collect_frames(store_paths, ok_ids, frame_stride: int = 5, max_frames: int = 20000, seed: int = 0):
    """Frames from ok trajectories: coords (n, n_atoms, 3), energies (n, n_states), groups (n,) ids.

    ``ok_ids``: a set of trajectory ids, or ``{id: n_frames_used}`` (only those first frames are used).

    Only frames whose every state energy is finite are used (formats that do not write per-state
    energies — SHARC without ``output.dat``, XYZ without a CSV — give none).
    """
    coords, energies, groups = [], [], []
    for path in store_paths:
        with Store(path) as store:
            for tid in store.ids:
                if tid not in ok_ids:
                    continue
                sl = slice(0, ok_ids[tid] if isinstance(ok_ids, dict) else None, max(1, int(frame_stride)))
                e = store.array(tid, "energies_ev")[sl]
                finite = np.isfinite(e).all(axis=1)
                if not finite.any():
                    continue
                coords.append(store.array(tid, "coords_angstrom")[sl][finite])
                energies.append(e[finite])
                groups.append(np.full(len(coords[-1]), tid, dtype=object))
    if not coords:
        raise SurrogateSkipped("no ok trajectory with per-state energies to train on")
    n_states = {e.shape[1] for e in energies}
    n_atoms = {c.shape[1] for c in coords}
    if len(n_states) > 1 or len(n_atoms) > 1:
        raise RuntimeError(f"surrogate: trajectories differ in atoms {n_atoms} or states {n_states}")
    coords, energies, groups = np.concatenate(coords), np.concatenate(energies), np.concatenate(groups)
    if len(coords) > max_frames:
        keep = np.sort(np.random.default_rng(seed).choice(len(coords), max_frames, replace=False))
        coords, energies, groups = coords[keep], energies[keep], groups[keep]
    return coords, energies, groups


def _metrics(y_true, y_pred, state_names):
    err = y_pred - y_true
    out = {}
    for k, name in enumerate(state_names):
        out[name] = {"mae_ev": float(np.abs(err[:, k]).mean()), "rmse_ev": float(np.sqrt((err[:, k] ** 2).mean()))}
    if y_true.shape[1] > 1:
        gap_err = (y_pred[:, 1] - y_pred[:, 0]) - (y_true[:, 1] - y_true[:, 0])
        out["gap_S1_S0"] = {"mae_ev": float(np.abs(gap_err).mean()), "rmse_ev": float(np.sqrt((gap_err**2).mean()))}
    out["mean_mae_ev"] = float(np.abs(err).mean())
    return out


def train_surrogate(store_paths, trajectories_parquet, metrics_out, model_dir, descriptor="inverse_distances",
                    hidden_layer_sizes=(128, 128), max_iter=300, frame_stride=5, max_frames=20000,
                    test_fraction=0.2, random_state=0) -> dict:
    """Fit the MLP on frames of ok trajectories, validate on held-out trajectories, write metrics and model.

    Targets are state energies in eV relative to ``energy_offset_ev`` (the training mean of S0), stored in
    the model metadata so predictions can be turned back into absolute energies.
    """
    ok = usable_frames(trajectories_parquet)
    try:
        coords, energies, groups = collect_frames(store_paths, ok, frame_stride, max_frames, random_state)
        n_traj = len(set(groups))
        if n_traj < 2:
            raise SurrogateSkipped(f"need at least 2 trajectories with energies for a held-out split, have {n_traj}")
    except SurrogateSkipped as exc:
        log.warning("surrogate skipped: %s", exc)
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "meta.json").write_text(json.dumps({"skipped": str(exc)}, indent=1))
        Path(metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(metrics_out).write_text(json.dumps({"skipped": str(exc)}, indent=1))
        return {"skipped": str(exc)}
    reference = coords[0]
    x = DESCRIPTORS[descriptor](coords, reference)
    split = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=random_state)
    train, test = next(split.split(x, energies, groups))
    offset = float(energies[train, 0].mean())
    y = energies - offset
    state_names = [f"S{k}" for k in range(energies.shape[1])]
    models = {
        "mlp": make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=tuple(hidden_layer_sizes), max_iter=max_iter,
                                                           early_stopping=True, random_state=random_state)),
        "ridge": make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
        "mean": DummyRegressor(strategy="mean"),
    }
    results = {}
    y_scaler = StandardScaler().fit(y[train])
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(x[train], y_scaler.transform(y[train]))
        fit_s = time.perf_counter() - t0
        pred = y_scaler.inverse_transform(np.asarray(model.predict(x[test])).reshape(len(test), -1))
        results[name] = {**_metrics(y[test], pred, state_names), "fit_seconds": round(fit_s, 2)}
        log.info("surrogate %s: mean MAE %.3f eV on %d held-out frames (%.1f s)", name, results[name]["mean_mae_ev"], len(test), fit_s)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": models["mlp"], "y_scaler": y_scaler}, model_dir / "mlp.joblib")
    np.save(model_dir / "reference_angstrom.npy", reference)
    parity = pd.DataFrame({"trajectory_id": groups[test]})
    pred = y_scaler.inverse_transform(models["mlp"].predict(x[test]).reshape(len(test), -1))
    for k, s in enumerate(state_names):
        parity[f"{s}_true_ev"] = y[test, k]
        parity[f"{s}_pred_ev"] = pred[:, k]
    parity.to_csv(model_dir / "heldout_predictions.csv", index=False, float_format="%.5f")
    meta = {
        "descriptor": descriptor, "states": state_names, "energy_offset_ev": offset, "units": "eV (targets relative to energy_offset_ev), Å",
        "hidden_layer_sizes": list(hidden_layer_sizes), "max_iter": max_iter, "random_state": random_state,
        "n_train_frames": int(len(train)), "n_test_frames": int(len(test)),
        "train_trajectories": sorted(set(groups[train])), "test_trajectories": sorted(set(groups[test])),
    }
    (model_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    metrics = {"split": "held-out trajectories (GroupShuffleSplit)", "test_fraction": test_fraction,
               "n_train_trajectories": len(meta["train_trajectories"]), "n_test_trajectories": len(meta["test_trajectories"]),
               "n_train_frames": meta["n_train_frames"], "n_test_frames": meta["n_test_frames"],
               "descriptor": descriptor, "random_state": random_state, "models": results}
    Path(metrics_out).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_out).write_text(json.dumps(metrics, indent=1))
    return metrics


def load_surrogate(model_dir):
    """Load a trained surrogate: returns predict(coords_angstrom) -> absolute energies (eV)."""
    model_dir = Path(model_dir)
    bundle = joblib.load(model_dir / "mlp.joblib")
    meta = json.loads((model_dir / "meta.json").read_text())
    reference = np.load(model_dir / "reference_angstrom.npy")

    def predict(coords_angstrom):
        x = DESCRIPTORS[meta["descriptor"]](np.asarray(coords_angstrom, dtype=float), reference)
        y = bundle["y_scaler"].inverse_transform(bundle["model"].predict(x).reshape(len(x), -1))
        return y + meta["energy_offset_ev"]

    return predict
