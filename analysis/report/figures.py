"""Report figures (matplotlib, Agg), returned as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _colors(labels):
    cmap = plt.get_cmap("tab10")
    return {lab: cmap(i % 10) for i, lab in enumerate(labels)}


def channel_shares(channels: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [f"{c}\n{m}" for c, m in zip(channels["channel"], channels["important_motion"])]
    ax.barh(labels[::-1], channels["percent"].to_numpy()[::-1], color="#4c72b0")
    ax.set_xlabel("share of trajectories (%)")
    ax.set_title("Reaction channels")
    return _png(fig)


def pca_scatter(scores: pd.DataFrame, assignments: pd.DataFrame, explained) -> bytes:
    df = scores.merge(assignments[["trajectory_id", "channel"]], on="trajectory_id")
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    chans = sorted(df["channel"].unique())
    col = _colors(chans)
    y = df["PC2"] if "PC2" in df else np.zeros(len(df))
    for c in chans:
        m = df["channel"] == c
        ax.scatter(df.loc[m, "PC1"], y[m], s=14, color=col[c], label=c)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f} %)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f} %)" if len(explained) > 1 else "")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Events in PCA space")
    return _png(fig)


def hop_times(assignments: pd.DataFrame) -> bytes:
    df = assignments.dropna(subset=["event_time_fs"])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    chans = sorted(df["channel"].unique())
    col = _colors(chans)
    bins = np.linspace(df["event_time_fs"].min(), df["event_time_fs"].max() + 1e-9, 25) if len(df) else 10
    for c in chans:
        ax.hist(df.loc[df["channel"] == c, "event_time_fs"], bins=bins, alpha=0.6, color=col[c], label=c)
    ax.set_xlabel("event (hop) time (fs)")
    ax.set_ylabel("trajectories")
    ax.legend(fontsize=7)
    return _png(fig)


def populations(frames: pd.DataFrame) -> bytes:
    """Fraction of trajectories in each active state vs time."""
    counts = frames.groupby(["time_fs", "active_state"]).size().unstack(fill_value=0)
    frac = counts.div(counts.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for s in frac.columns:
        ax.plot(frac.index, frac[s], label=f"S{int(s) - 1}")
    ax.set_xlabel("time (fs)")
    ax.set_ylabel("active-state population")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    return _png(fig)


def parity(heldout: pd.DataFrame) -> bytes:
    states = [c[: -len("_true_ev")] for c in heldout.columns if c.endswith("_true_ev")]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for s in states:
        ax.scatter(heldout[f"{s}_true_ev"], heldout[f"{s}_pred_ev"], s=3, alpha=0.4, label=s)
    lo = min(heldout.filter(like="_ev").min())
    hi = max(heldout.filter(like="_ev").max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("reference energy (eV, relative)")
    ax.set_ylabel("MLP prediction (eV, relative)")
    ax.legend(fontsize=8, markerscale=3)
    ax.set_title("Surrogate on held-out trajectories")
    return _png(fig)
