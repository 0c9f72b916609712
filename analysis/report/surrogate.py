"""The report's surrogate section: which model predicts and why, how good, how honest its σ, what to compute next."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.io.store import Store
from analysis.report import figures
from analysis.report.html import img, table_html
from analysis.surrogate.active import AGREED_DISAGREEMENT

MIN_MAP_EVENTS = 10
MODEL_NAMES = {"mean": "training mean", "ridge": "ridge", "krr": "kernel ridge (KRR)", "mlp": "MLP ensemble",
               "krr+mlp": "KRR + MLP average", "per-target": "per target: KRR, MLP or average"}


def metrics_table(metrics: dict) -> pd.DataFrame:
    """One row per model: cross-validated (on the tuning subsample and, when the choice used it, on all training
    frames) and held-out MAE (eV) per target, fit time; the predictor marked."""
    rows = []
    for name, m in metrics["models"].items():
        row = {"model": MODEL_NAMES.get(name, name) + (" ← predictor" if name == metrics["chosen"] else ""),
               "CV MAE (eV)": m["cv_mae_ev"]}
        if "full_cv_mae_ev" in m:  # the tuning CV ran on a subsample, the choice on all training frames
            row["CV MAE, all training frames (eV)"] = m["full_cv_mae_ev"]
        row["held-out MAE (eV)"] = m["mean_mae_ev"]
        row.update({f"{t} MAE (eV)": m[t]["mae_ev"] for t in metrics["targets"]})
        row["fit (s)"] = m["fit_seconds"]
        rows.append(row)
    return pd.DataFrame(rows)


def event_coords(scores: pd.DataFrame, store_paths) -> np.ndarray:
    """Coordinates (n, n_atoms, 3) Å of each scored event (trajectory_id, frame), read from the stores."""
    wanted = {}
    for t, f in zip(scores["trajectory_id"], scores["frame"]):
        wanted.setdefault(t, set()).add(int(f))
    found = {}
    for path in store_paths:
        with Store(path) as store:
            for tid in set(store.ids) & set(wanted):
                n_frames = store.shape(tid, "coords_angstrom")[0]
                frames = sorted(f for f in wanted[tid] if f < n_frames)
                found.update(zip(((tid, f) for f in frames), store.rows(tid, "coords_angstrom", frames)))
    keys = [(t, int(f)) for t, f in zip(scores["trajectory_id"], scores["frame"])]
    return np.array([found[k] for k in keys]) if all(k in found for k in keys) else None


def gap_maps(model, scores: pd.DataFrame, assignments: pd.DataFrame, store_paths) -> dict[str, bytes]:
    """Per transition with ≥ ``MIN_MAP_EVENTS`` events, the predicted gap over its PC1–PC2 plane (needs a gap)."""
    out = {}
    if model is None or model.gap_name is None or not len(scores):
        return out
    for transition, sc in scores.groupby("transition", sort=False):
        if len(sc) < MIN_MAP_EVENTS or "PC2" not in sc or sc["PC2"].isna().all():
            continue
        coords = event_coords(sc, store_paths)
        if coords is None:
            continue
        gap = model.predict_table(coords)[f"{model.gap_name}_ev"].to_numpy()
        merged = sc.merge(assignments[["transition", "trajectory_id", "frame", "channel"]], how="left",
                          on=["transition", "trajectory_id", "frame"])
        out[transition] = figures.gap_map(sc, gap, merged["channel"].fillna("unresolved"), model.gap_name,
                                          f"{transition}: predicted gap at the events")
    return out


def domain_words(domain: dict) -> str:
    """One sentence on the held-out frames outside the training domain (:mod:`analysis.surrogate.domain`)."""
    share = 100 * domain["heldout_fraction_outside"]
    head = (f"Training domain: a geometry farther from every training frame than {100 * domain['quantile']:.0f} % of the "
            "training frames lie from the other cross-validation folds is flagged outside it "
            "(outside_training_domain in the predictions). ")
    if domain["heldout_mae_outside_ev"] is None:
        return head + "No held-out frame lies outside."
    inside = domain["heldout_mae_inside_ev"]
    return head + (f"{share:.0f} % of the held-out frames lie outside: MAE {domain['heldout_mae_outside_ev']:.3f} eV there"
                   + (f", {inside:.3f} eV inside." if inside is not None else "."))


_KRR_WORDS = {"kernel": lambda v: f"{str(v).capitalize()} kernel",
              "length_scale_factor": lambda v: f"length scale {v:g} × the median descriptor distance",
              "alpha": lambda v: f"ridge α {v:.0e}"}
_MLP_WORDS = {"hidden_layer_sizes": lambda v: "hidden layers " + "–".join(str(n) for n in v),
              "alpha": lambda v: f"L2 α {v:.0e}", "activation": lambda v: f"{v} activation",
              "learning_rate_init": lambda v: f"learning rate {v:g}", "descriptor": lambda v: DESCRIPTOR_WORDS.get(v, v)}
DESCRIPTOR_WORDS = {"inverse_distances": "on inverse distances", "re": "on R_eq/R",
                    "aligned_cartesian": "on the Cartesian displacement from the reference geometry after alignment"}


def descriptor_words(main: str, hyperparameters: dict) -> str:
    """The descriptor sentence: ``main`` (standardized), and for which models when the tuned MLP reads another."""
    own = (hyperparameters.get("mlp") or {}).get("descriptor")
    if own and own != main:
        return f"{main} (standardized) for kernel ridge and ridge regression; the MLP's is named below"
    return f"{main} (standardized)"


def hyperparameter_words(hyperparameters: dict, n_members: int) -> str:
    """The tuned hyperparameters in words: ``{"krr": {...}, "mlp": {...}}`` (metrics.json) → "KRR: Gaussian kernel,
    length scale 2 × the median descriptor distance, ridge α 1e-06; MLP ensemble: 5 networks, hidden layers 64–64,
    L2 α 1e-04." A parameter without words here is written as ``name value``."""
    def words(params: dict, known: dict) -> str:
        return ", ".join(known[k](v) if k in known else f"{k} {v}" for k, v in params.items())

    parts = []
    if hyperparameters.get("krr"):
        parts.append(f"KRR: {words(hyperparameters['krr'], _KRR_WORDS)}")
    if hyperparameters.get("mlp") is not None:
        parts.append(f"MLP ensemble: {n_members} networks" + (f", {words(hyperparameters['mlp'], _MLP_WORDS)}" if hyperparameters["mlp"] else ""))
    return "; ".join(parts) + ("." if parts else "")


def surrogate_html(metrics: dict, model_dir, scores=None, assignments=None, store_paths=(), next_csv=None):
    """(HTML of the section, {figure name: PNG})."""
    if "skipped" in metrics:
        return f"<p>Not trained: {html.escape(metrics['skipped'])}.</p>", {}
    from analysis.surrogate.modelfile import load_model

    model_dir = Path(model_dir)
    heldout = pd.read_csv(model_dir / "heldout_predictions.csv", dtype={"trajectory_id": str})
    unc = metrics["uncertainty"]
    figs = {"surrogate_parity": figures.parity(heldout, MODEL_NAMES[metrics["chosen"]]),
            "surrogate_reliability": figures.reliability(unc["reliability"]["expected"], unc["reliability"]["observed"])}
    curve_path = model_dir / "learning_curve.csv"
    curve = pd.read_csv(curve_path) if curve_path.exists() and curve_path.stat().st_size > 1 else pd.DataFrame()
    if len(curve):
        figs["surrogate_learning_curve"] = figures.learning_curve(curve)
    maps = gap_maps(load_model(model_dir), scores, assignments, store_paths) if scores is not None else {}
    figs.update({f"surrogate_gap_map_{k.replace('→', '-')}": v for k, v in maps.items()})
    hp = metrics["hyperparameters"]
    calibration_words = "; ".join(f"{k}: c {v['scale']:.2f}, σ₀ {v['floor_ev']:.3f} eV" for k, v in unc["calibration"].items())
    parts = [
        f"<p><b>{html.escape(metrics['choice'])}</b></p>",
        f"<p>Validation: {html.escape(metrics['split'])} — {metrics['n_train_trajectories']} training / "
        f"{metrics['n_test_trajectories']} test trajectories ({metrics['n_train_frames']} / {metrics['n_test_frames']} frames). "
        f"Hyperparameters tuned by {html.escape(metrics['cross_validation'])}; the test trajectories were used for nothing else. "
        f"Descriptor: {html.escape(descriptor_words(metrics['descriptor'], hp))}; targets S0 and the adjacent gaps. "
        f"{html.escape(hyperparameter_words(hp, metrics['n_members']))} "
        f"Training took {metrics['train_seconds']} s.</p>",
        table_html(metrics_table(metrics), digits=3),
        img(figs["surrogate_parity"], "parity plot"),
        f"<p>Uncertainty: σ = √((c·spread)² + σ₀²) from the committee spread, c and σ₀ fitted out of fold by Gaussian "
        f"likelihood ({calibration_words}). "
        f"On the held-out trajectories "
        f"{100 * unc['coverage_1sigma']:.0f} % of errors lie inside ±1σ (68 % if calibrated) and "
        f"{100 * unc['coverage_2sigma']:.0f} % inside ±2σ (95 %).</p>",
        img(figs["surrogate_reliability"], "reliability plot"),
    ]
    if metrics.get("domain"):
        parts.append(f"<p>{html.escape(domain_words(metrics['domain']))}</p>")
    for key, label in (("errors_by_gap", "true first gap"), ("errors_by_time_to_hop", "|time − first hop|")):
        if metrics.get(key):
            parts.append(f"<h3>Held-out error by {html.escape(label)}</h3>" + table_html(pd.DataFrame(metrics[key]).rename(
                columns={"bin": label, "n_frames": "frames", "mae_ev": "MAE (eV)"}), digits=3))
    if "surrogate_learning_curve" in figs:
        parts.append(img(figs["surrogate_learning_curve"], "learning curve"))
    parts += [img(png, f"gap map {k}") for k, png in maps.items()]
    if next_csv is not None and Path(next_csv).exists():
        nxt = pd.read_csv(next_csv, dtype={"trajectory_id": str})
        if len(nxt):
            cols = [c for c in ("rank", "trajectory_id", "time_fs", "channel", "disagreement", "max_state_sigma_ev", "file")
                    if c in nxt]
            parts.append("<h3>Next calculations</h3><p>The geometries where the committee disagrees most, taken in turn "
                         "from each channel (XYZ files in <code>results/surrogate/next_calculations/</code>): compute them "
                         "and add them to the training data. Disagreement: a state's committee spread over its median "
                         "across the ensemble's frames (1 = a typical frame), the largest over the states; frames the "
                         f"committee reproduces exactly (below {AGREED_DISAGREEMENT:g}: every member trained on them) are never picked.</p>"
                         + table_html(nxt[cols].head(10), digits=3))
    return "\n".join(parts), figs
