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
