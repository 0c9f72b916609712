"""Report figures (matplotlib, Agg), returned as PNG bytes. Every axis says its unit."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

UNRESOLVED_COLOR = "#9a9a9a"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _colors(labels):
    cmap = plt.get_cmap("tab10")
    resolved = [lab for lab in labels if lab != "unresolved"]
    out = {lab: cmap(i % 10) for i, lab in enumerate(resolved)}
    out["unresolved"] = UNRESOLVED_COLOR
    return out


def channel_shares(channels: pd.DataFrame, title: str) -> bytes:
    """Horizontal bars: share of the transition's events per channel (unresolved in grey)."""
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(len(channels), 2)))
    labels = [f"{c}  {m}" if m else c for c, m in zip(channels["channel"], channels["important_motion"].fillna(""))]
    colors = [UNRESOLVED_COLOR if c == "unresolved" else "#4c72b0" for c in channels["channel"]]
    ax.barh(labels[::-1], channels["percent"].to_numpy()[::-1], color=colors[::-1])
    ax.set_xlabel("share of events (%)")
    ax.set_xlim(0, 100)
    ax.set_title(title)
    return _png(fig)


def pca_scatter(scores: pd.DataFrame, assignments: pd.DataFrame, explained, title: str) -> bytes:
    """PC1 vs PC2 (PC1 vs event time when there is one component), coloured by channel."""
    df = scores.merge(assignments[["trajectory_id", "frame", "channel"]], on=["trajectory_id", "frame"])
    fig, ax = plt.subplots(figsize=(5.5, 4.3))
    chans = sorted(df["channel"].unique())
    col = _colors(chans)
    two = "PC2" in df and df["PC2"].notna().any()
    for c in chans:
        m = df["channel"] == c
        ax.scatter(df.loc[m, "PC1"], df.loc[m, "PC2"] if two else df.loc[m, "time_fs"], s=14, color=col[c], label=c,
                   marker="x" if c == "unresolved" else "o")
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f} % of variance, standardized units)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f} % of variance)" if two else "event time (fs)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title)
    return _png(fig)


def event_times(assignments: pd.DataFrame, time_label: str, title: str) -> bytes:
    """Event-time histograms as small multiples, one row per channel on a shared time axis (never overdrawn)."""
    df = assignments.dropna(subset=["event_time_fs"])
    chans = sorted(df["channel"].unique(), key=lambda c: (c == "unresolved", c))
    n = max(len(chans), 1)
    fig, axes = plt.subplots(n, 1, figsize=(6, 0.9 + 1.1 * n), sharex=True, squeeze=False)
    col = _colors(chans)
    lo, hi = (df["event_time_fs"].min(), df["event_time_fs"].max()) if len(df) else (0.0, 1.0)
    bins = np.linspace(lo, hi + max(1e-9, 0.01 * (hi - lo)), 25)
    for ax, c in zip(axes[:, 0], chans):
        t = df.loc[df["channel"] == c, "event_time_fs"]
        ax.hist(t, bins=bins, color=col[c])
        ax.set_ylabel("events")
        ax.text(0.99, 0.85, f"{c} (n={len(t)})", transform=ax.transAxes, ha="right", va="top", fontsize=8)
    axes[-1, 0].set_xlabel(f"{time_label} (fs)")
    axes[0, 0].set_title(title)
    return _png(fig)


def populations(frames: pd.DataFrame) -> bytes:
    """Fraction of trajectories in each active state (spectroscopic name) vs time."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if len(frames):
        label = frames["state_label"] if "state_label" in frames else "S" + (frames["active_state"] - 1).astype(str)
        counts = frames.assign(state=label).groupby(["time_fs", "state"]).size().unstack(fill_value=0)
        frac = counts.div(counts.sum(axis=1), axis=0)
        for s in sorted(frac.columns, key=lambda v: (v[0], int(v[1:]) if v[1:].isdigit() else 0, v)):
            ax.plot(frac.index, frac[s], label=s)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no trajectory to show", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("time (fs)")
    ax.set_ylabel("fraction of trajectories")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Active-state populations")
    return _png(fig)


def parity(heldout: pd.DataFrame, model_name: str) -> bytes:
    """Predicted vs reference energy on held-out trajectories, one colour per state, error bars = 1σ."""
    states = [c[: -len("_true_ev")] for c in heldout.columns if c.endswith("_true_ev") and not c.startswith("gap_")]
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    for s in states:
        ax.errorbar(heldout[f"{s}_true_ev"], heldout[f"{s}_pred_ev"], yerr=heldout[f"{s}_sigma_ev"], fmt="o", ms=2, alpha=0.35,
                    elinewidth=0.5, label=s)
    values = heldout[[f"{s}_{k}_ev" for s in states for k in ("true", "pred")]].to_numpy()
    lo, hi = np.nanmin(values), np.nanmax(values)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("reference energy (eV)")
    ax.set_ylabel(f"{model_name} prediction (eV)")
    ax.legend(fontsize=8, markerscale=3)
    ax.set_title("Held-out trajectories")
    return _png(fig)


def reliability(expected, observed) -> bytes:
    """Share of held-out errors inside the central interval of each confidence level (diagonal = calibrated)."""
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="calibrated")
    ax.plot(expected, observed, "o-", ms=3, label="surrogate")
    ax.set_xlabel("confidence level of the Gaussian interval (fraction)")
    ax.set_ylabel("held-out errors inside (fraction)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Uncertainty calibration")
    return _png(fig)


def learning_curve(curve: pd.DataFrame) -> bytes:
    """Held-out MAE against the number of training frames, per model (log–log)."""
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    names = {"krr": "kernel ridge", "mlp": "MLP (one network)"}
    for model, rows in curve.groupby("model", sort=False):
        ax.plot(rows["n_train_frames"], rows["mae_ev"], "o-", ms=4, label=names.get(model, model))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training frames")
    ax.set_ylabel("held-out MAE (eV, mean over states)")
    ax.legend(fontsize=8)
    ax.set_title("Learning curve")
    return _png(fig)


def gap_map(scores: pd.DataFrame, gap_ev: np.ndarray, channels: pd.Series, gap_name: str, title: str) -> bytes:
    """Events on the PC1–PC2 plane coloured by the surrogate's predicted gap; each channel's label at its centre."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    points = ax.scatter(scores["PC1"], scores["PC2"], c=gap_ev, cmap="viridis", s=18, edgecolors="k", linewidths=0.3)
    fig.colorbar(points, ax=ax, label=f"predicted {gap_name.replace('gap_', '').replace('_', '–')} gap (eV)")
    for label, rows in scores.groupby(channels.to_numpy(), sort=True):
        if label != "unresolved":
            ax.annotate(label, (rows["PC1"].mean(), rows["PC2"].mean()), fontsize=8, weight="bold", ha="center",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
    ax.set_xlabel("PC1 (standardized units)")
    ax.set_ylabel("PC2 (standardized units)")
    ax.set_title(title)
    return _png(fig)
