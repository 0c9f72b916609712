"""Report figures (matplotlib, Agg), returned as PNG bytes. Every axis says its unit."""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

UNRESOLVED_COLOR = "#9a9a9a"


def _png(fig, outside_legend: bool = False) -> bytes:
    """The figure as PNG bytes; ``outside_legend``: the saved area grows to hold a legend beside the axes (one more
    draw: the report's 31 figures of a pyrazine run took 4.1 s instead of 2.9 s when every figure paid it)."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110, **({"bbox_inches": "tight", "pad_inches": 0.05} if outside_legend else {}))
    plt.close(fig)
    return buf.getvalue()


def wrap_to_width(text: str, width_inch: float, fontsize_pt: float) -> str:
    """``text`` broken into lines that fit ``width_inch`` at ``fontsize_pt`` (an average glyph is ~0.55 em wide):
    a title wider than its figure is cut off at both edges, since the figure does not grow to hold it."""
    chars = max(int(width_inch * 72.0 / (0.55 * fontsize_pt)), 10)
    return "\n".join(textwrap.wrap(text, chars)) if len(text) > chars else text


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
    """PC1 vs PC2 (PC1 vs event time when there is one component), coloured by channel; ``explained``: variance
    ratio of each component (PC2's may be missing)."""
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
    # PC2 is stored (and drawn) even where PC1 alone carries the variance cut; its share then comes from the
    # stored components' ratios, and a summary that has only the kept ones leaves it out
    pc2_share = f" ({100 * explained[1]:.0f} % of variance)" if len(explained) > 1 else ""
    ax.set_ylabel(f"PC2{pc2_share}" if two else "event time (fs)")
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
    if hi - lo < 10.0:  # one event, or all at nearly one time: a readable 10 fs window around them
        mid = 0.5 * (lo + hi)
        lo, hi = max(0.0, mid - 5.0), max(0.0, mid - 5.0) + 10.0
    bins = np.linspace(lo, hi + 0.01 * (hi - lo), 25)
    for ax, c in zip(axes[:, 0], chans):
        t = df.loc[df["channel"] == c, "event_time_fs"]
        counts, _, _ = ax.hist(t, bins=bins, color=col[c])
        ax.set_ylim(0, 1.45 * max(float(np.max(counts)), 1.0))  # headroom: the label never sits on a bar
        ax.set_ylabel("events")
        ax.text(0.99, 0.95, f"{c} (n={len(t)})", transform=ax.transAxes, ha="right", va="top", fontsize=8)
    axes[-1, 0].set_xlabel(f"{time_label} (fs)")
    axes[0, 0].set_title(title)
    return _png(fig)


def parity(heldout: pd.DataFrame, model_name: str) -> bytes:
    """Predicted vs reference energy on held-out trajectories, one colour per state, error bars = 1σ; energies
    relative to the lowest reference E₀ (stated in the plot): absolute energies (−10 690 eV) crowd the ticks."""
    states = [c[: -len("_true_ev")] for c in heldout.columns if c.endswith("_true_ev") and not c.startswith("gap_")]
    reference = heldout[[f"{s}_true_ev" for s in states]].to_numpy(dtype=float)
    origin_ev = float(reference[np.isfinite(reference)].min()) if np.isfinite(reference).any() else 0.0
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    for s in states:
        ax.errorbar(heldout[f"{s}_true_ev"] - origin_ev, heldout[f"{s}_pred_ev"] - origin_ev, yerr=heldout[f"{s}_sigma_ev"],
                    fmt="o", ms=2, alpha=0.35, elinewidth=0.5, label=s)
    values = heldout[[f"{s}_{k}_ev" for s in states for k in ("true", "pred")]].to_numpy() - origin_ev
    lo, hi = np.nanmin(values), np.nanmax(values)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    shift = " − E₀" if origin_ev else ""
    ax.set_xlabel(f"reference energy{shift} (eV)")
    ax.set_ylabel(wrap_to_width(f"{model_name} prediction{shift} (eV)", 0.85 * fig.get_figheight(), 10))
    if origin_ev:
        ax.text(0.98, 0.02, f"E₀ = {origin_ev:.3f} eV (lowest reference)", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7)
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


def _state_order(states):
    return sorted(states, key=lambda v: (v[0], int(v[1:]) if v[1:].isdigit() else 0, v))


def population_fractions(frames: pd.DataFrame) -> pd.DataFrame:
    """Share of trajectories (alive at each time) in each active state: index time_fs, one column per state."""
    label = frames["state_label"] if "state_label" in frames else "S" + (frames["active_state"] - 1).astype(str)
    counts = frames.assign(state=label).groupby(["time_fs", "state"]).size().unstack(fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0)[_state_order(counts.columns)]


def populations_with_fit(frames: pd.DataFrame, fit=None) -> bytes:
    """Active-state populations of the ensemble vs time, with the fitted decay of the initial state (dashed)."""
    from analysis.kinetics import decay, tau_words

    fig, ax = plt.subplots(figsize=(7.4, 3.4))
    if len(frames):
        frac = population_fractions(frames)
        for s in frac.columns:
            ax.plot(frac.index, frac[s], label=s)
        if fit is not None and fit.fitted:
            t = np.linspace(frac.index.min(), frac.index.max(), 300)
            ax.plot(t, decay(t, fit.tau_fs, fit.t0_fs, fit.plateau), "k--", lw=1,
                    label=f"fit {fit.what.split(' ')[0]}: {tau_words(fit.tau_fs, spaced=False)}, t0={fit.t0_fs:.0f} fs")
        # beside the axes: inside, the box of six states and the fit hid a real pyrazine run's curves at 0.4-0.6
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.text(0.5, 0.5, "no trajectory to show", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("time (fs)")
    ax.set_ylabel("fraction of trajectories")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Active-state populations (ensemble)")
    return _png(fig, outside_legend=True)


def channel_kinetics(frames: pd.DataFrame, assignments: pd.DataFrame, fits: pd.DataFrame, title: str) -> bytes:
    """Small multiples, one panel per channel: the active-state populations of the channel's trajectories and the
    fitted share still before the event (dashed), on a shared time axis."""
    from analysis.kinetics import decay, tau_words

    chans = sorted(assignments["channel"].unique(), key=lambda c: (c == "unresolved", c))
    n = max(len(chans), 1)
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol + 0.6, 2.3 * nrow + 0.6), sharex=True, sharey=True, squeeze=False)
    states = _state_order(frames["state_label"].unique()) if len(frames) else []
    colors = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(states)}
    fit_of = fits.set_index("channel") if len(fits) else pd.DataFrame()
    for ax, c in zip(axes.flat, chans):
        ids = assignments.loc[assignments["channel"] == c, "trajectory_id"].unique()
        mine = frames[frames["trajectory_id"].isin(ids)]
        if len(mine):
            frac = population_fractions(mine)
            for s in frac.columns:
                ax.plot(frac.index, frac[s], color=colors.get(s), lw=1.2, label=s)
        text = f"{c} (n={len(ids)})"
        if c in fit_of.index and np.isfinite(fit_of.at[c, "tau_fs"]):
            f = fit_of.loc[c]
            t = np.linspace(0, frames["time_fs"].max() if len(frames) else 1.0, 300)
            ax.plot(t, decay(t, f["tau_fs"], f["t0_fs"]), "k--", lw=1)
            text += f"\n{tau_words(f['tau_fs'], spaced=False)}, t0={f['t0_fs']:.0f} fs"
        ax.set_title(text, fontsize=7, loc="right")  # above the panel: inside it the box hid the curves at 1
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("time (fs)")
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction")
    if states:  # one legend beside the panels: inside the first one it covered that channel's curves
        handles, names = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 0.9), borderaxespad=0.0)
    fig.suptitle(wrap_to_width(title, fig.get_figwidth(), 10), fontsize=10)
    return _png(fig, outside_legend=bool(states))


def _tree_nodes(labels: list[str]) -> list[list[str]]:
    import re

    return [["".join(parts[: k + 1]) for k in range(len(parts))] for parts in (re.findall(r"[A-Z]\d+", lab) for lab in labels)]


def hierarchy_tree(channels: pd.DataFrame, title: str) -> bytes:
    """The channel hierarchy as a tree (A → B → C levels), every node with its share of the transition's events;
    unresolved events as a grey leaf of the root."""
    rows = channels[["channel", "percent"]].copy()
    resolved = rows[rows["channel"] != "unresolved"].sort_values("channel")
    paths = _tree_nodes(list(resolved["channel"]))
    share = {}
    for path, pct in zip(paths, resolved["percent"]):
        for node in path:
            share[node] = share.get(node, 0.0) + pct
    depth = max((len(p) for p in paths), default=1)
    leaves = [p[-1] for p in paths] + (["unresolved"] if (rows["channel"] == "unresolved").any() else [])
    y = {leaf: -i for i, leaf in enumerate(leaves)}
    for k in range(depth - 1, 0, -1):
        for p in paths:
            if len(p) > k:
                kids = [q[k] for q in paths if len(q) > k and q[k - 1] == p[k - 1]]
                y[p[k - 1]] = float(np.mean([y[c] for c in kids]))
    fig, ax = plt.subplots(figsize=(6.4, 0.7 + 0.42 * max(len(leaves), 2)))
    root_y = float(np.mean(list(y[p[0]] for p in paths) + ([y["unresolved"]] if "unresolved" in y else []))) if leaves else 0.0
    ax.text(0, root_y, "all events ", ha="right", va="center", fontsize=8)
    for p in paths:
        for k, node in enumerate(p):
            parent_x, parent_y = (0, root_y) if k == 0 else (k, y[p[k - 1]])
            ax.plot([parent_x, parent_x, k + 1], [parent_y, y[node], y[node]], color="#4c72b0", lw=1.2)
            ax.text(k + 1.05, y[node], f"{node}  {share[node]:.0f} %", va="center", fontsize=8,
                    bbox={"fc": "white", "lw": 0, "pad": 0.5})
    if "unresolved" in y:
        pct = float(rows.loc[rows["channel"] == "unresolved", "percent"].sum())
        ax.plot([0, 0, 1], [root_y, y["unresolved"], y["unresolved"]], color=UNRESOLVED_COLOR, lw=1.2, ls=":")
        ax.text(1.05, y["unresolved"], f"unresolved  {pct:.0f} %", va="center", fontsize=8, color="#666666")
    ax.set_xlim(-0.9, depth + 1.2)
    ax.set_ylim(min(y.values(), default=0) - 0.6, 0.6)
    ax.set_xticks(range(1, depth + 1), [f"level {chr(65 + k)}" for k in range(depth)])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    return _png(fig)


def explained_variance(ratio, title: str) -> bytes:
    """Explained variance of each principal component (bars) and cumulative (line), in percent."""
    ratio = 100 * np.asarray(ratio, float)
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    k = np.arange(1, len(ratio) + 1)
    ax.bar(k, ratio, color="#4c72b0", label="component")
    ax.plot(k, np.cumsum(ratio), "o-", color="#dd8452", ms=3, label="cumulative")
    ax.set_xticks(k, [f"PC{i}" for i in k], fontsize=7)
    ax.set_ylabel("explained variance (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7)
    ax.set_title(title)
    return _png(fig)


def running_percent(end_time_fs, times_fs) -> np.ndarray:
    """Percent of the trajectories (``end_time_fs``: each one's last analysed time) still analysed at each of
    ``times_fs``: a trajectory counts up to and including its last time."""
    ends = np.sort(np.asarray(end_time_fs, float))
    if not len(ends):
        return np.zeros(len(np.atleast_1d(times_fs)))
    return 100.0 * (len(ends) - np.searchsorted(ends, np.asarray(times_fs, float), side="left")) / len(ends)


def product_formation(products: pd.DataFrame, title: str = "products over time") -> bytes | None:
    """Per product that changes the bonding: the share of the analysed trajectories that have formed it by each
    time (steps at each trajectory's ``formed_at_fs``), and, dashed grey, the share still analysed then (a
    trajectory QC truncated or that ended early keeps its product but is no longer followed); None when no
    trajectory formed one."""
    formed = products.dropna(subset=["formed_at_fs"])
    if not len(formed):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6 + 0.18 * (formed["product"].nunique() + 1)))
    end = float(products["end_time_fs"].max())
    for k, (name, group) in enumerate(sorted(formed.groupby("product"), key=lambda kv: -len(kv[1]))):
        t = np.sort(group["formed_at_fs"].to_numpy(float))
        share = 100.0 * np.arange(1, len(t) + 1) / len(products)
        ax.step(np.r_[0.0, t, end], np.r_[0.0, share, share[-1]], where="post", color=plt.get_cmap("tab10")(k % 10), label=name)
    stops = np.unique(products["end_time_fs"].to_numpy(float))
    after = np.nextafter(stops, np.inf)  # just after each trajectory's last time
    ax.step(np.r_[0.0, after], np.r_[100.0, running_percent(products["end_time_fs"], after)], where="post", color="0.55",
            ls="--", lw=1.0, label="trajectories still analysed")
    ax.set_xlabel("time (fs)")
    ax.set_ylabel("trajectories (%)")
    ax.set_xlim(0, end)
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below: no curve hides under it
    ax.set_title(title)
    return _png(fig)
