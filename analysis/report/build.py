"""Assemble the channel report: channels.csv, channels.md, report.html (self-contained), geometries/."""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.io.store import Store
from analysis.motions import important_motions
from analysis.report import figures
from analysis.topology import Topology

log = logging.getLogger(__name__)


def channel_table(assignments: pd.DataFrame, events: pd.DataFrame, reference: pd.DataFrame, topology: Topology) -> pd.DataFrame:
    """channel, n_trajectories, percent, important_motion, second_motion, hop_time_fs_mean, hop_time_fs_sd, and
    per ring ``conformer[ringK]``: the most frequent conformer label at the event with its share (``chair ¹C₄ (80 %)``)."""
    n_total = len(assignments)
    rows = []
    ev = events.merge(assignments[["trajectory_id", "channel"]], on="trajectory_id")
    conformer_cols = [c for c in events.columns if c.startswith("conformer[")]
    for channel, group in assignments.groupby("channel", sort=True):
        motions = important_motions(ev[ev["channel"] == channel], reference, topology, n=2) if channel != "no_event" else ["(no hop into the ground state)"]
        t = group["event_time_fs"].dropna()
        rows.append({
            "channel": channel, "n_trajectories": len(group), "percent": 100.0 * len(group) / n_total,
            "important_motion": motions[0] if motions else "", "second_motion": motions[1] if len(motions) > 1 else "",
            "hop_time_fs_mean": float(t.mean()) if len(t) else np.nan,
            "hop_time_fs_sd": float(t.std(ddof=1)) if len(t) > 1 else np.nan,
        })
        for col in conformer_cols:
            labels = ev.loc[ev["channel"] == channel, col].dropna()
            if len(labels):
                counts = labels.value_counts()
                rows[-1][col] = f"{counts.index[0]} ({100.0 * counts.iloc[0] / len(labels):.0f} %)"
            else:
                rows[-1][col] = ""
    return pd.DataFrame(rows).sort_values(["n_trajectories", "channel"], ascending=[False, True]).reset_index(drop=True)


def representatives(scores: pd.DataFrame, assignments: pd.DataFrame) -> dict[str, str]:
    """Per channel the trajectory whose event lies closest to the channel's mean in PCA space."""
    df = scores.merge(assignments[["trajectory_id", "channel"]], on="trajectory_id")
    pcs = [c for c in scores.columns if c.startswith("PC")]
    out = {}
    for channel, g in df.groupby("channel"):
        x = g[pcs].to_numpy()
        out[channel] = g["trajectory_id"].iloc[int(np.argmin(((x - x.mean(0)) ** 2).sum(1)))]
    return out


def write_geometries(reps: dict, events: pd.DataFrame, store_paths, out_dir: Path) -> dict[str, str]:
    """XYZ of each representative event geometry (Å)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame_of = dict(zip(events["trajectory_id"], events["frame"]))
    wanted = {tid: ch for ch, tid in reps.items()}
    files = {}
    for path in store_paths:
        with Store(path) as store:
            for tid in store.ids:
                if tid in wanted:
                    xyz = store.array(tid, "coords_angstrom")[int(frame_of[tid])]
                    sym = store.meta[tid]["symbols"]
                    t = store.array(tid, "time_fs")[int(frame_of[tid])]
                    body = "\n".join(f"{s:2s} {x:12.6f} {y:12.6f} {z:12.6f}" for s, (x, y, z) in zip(sym, xyz))
                    name = f"{wanted[tid]}.xyz"
                    (out_dir / name).write_text(f"{len(sym)}\n{tid} channel {wanted[tid]} t={t:.2f} fs (Angstrom)\n{body}\n")
                    files[wanted[tid]] = name
    return files


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.1f}", na_rep="–", border=0, classes="tbl")


def build_report(trajectories_parquet, qc_csv, assignments_csv, events_parquet, frames_parquet, scores_parquet,
                 pca_json, topology_json, surrogate_metrics_json, surrogate_model_dir, store_paths, out_dir,
                 config_summary: dict | None = None) -> pd.DataFrame:
    """Write channels.csv, channels.md, report.html and geometries/ under ``out_dir``.

    ``frames_parquet`` may be one path or a list of per-batch time-resolved feature tables.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.read_parquet(trajectories_parquet)
    qc = pd.read_csv(qc_csv)
    assignments = pd.read_csv(assignments_csv)
    events = pd.read_parquet(events_parquet)
    frame_paths = [frames_parquet] if isinstance(frames_parquet, (str, Path)) else list(frames_parquet)
    frames = pd.concat([pd.read_parquet(p) for p in frame_paths], ignore_index=True)
    scores = pd.read_parquet(scores_parquet)
    pca = json.loads(Path(pca_json).read_text())
    topology = Topology.from_json(topology_json)
    surrogate = json.loads(Path(surrogate_metrics_json).read_text())
    reference = frames[frames["frame"] == 0]

    channels = channel_table(assignments, events, reference, topology)
    reps = representatives(scores, assignments)
    geo = write_geometries(reps, events, store_paths, out_dir / "geometries")
    channels["representative"] = channels["channel"].map(reps).fillna("")
    channels.to_csv(out_dir / "channels.csv", index=False, float_format="%.2f")

    md_cols = ["channel", "n_trajectories", "percent", "important_motion", "second_motion", "hop_time_fs_mean", "hop_time_fs_sd",
               *[c for c in channels.columns if c.startswith("conformer[")], "representative"]
    md = ["# hopscope channel report", "",
          f"{int((table.status == 'ok').sum())} of {len(table)} trajectories analysed; event: `{events['event'].iloc[0] if len(events) else 'n/a'}`. "
          "Times in fs, energies in eV.", "", channels[md_cols].to_markdown(index=False, floatfmt=".1f"), ""]
    excluded = table[table["status"] != "ok"][["trajectory_id", "reason"]]
    md += ["## Excluded trajectories", "", excluded.to_markdown(index=False) if len(excluded) else "none", ""]
    (out_dir / "channels.md").write_text("\n".join(md))

    loadings = "".join(
        f"<li><b>{pc}</b> ({100 * v:.1f} %): " + ", ".join(f"{html.escape(f)} ({w:+.2f})" for f, w in pca["top_loadings"][pc]) + "</li>"
        for pc, v in zip(pca["top_loadings"], pca["explained_variance_ratio"]))
    figs = {
        "shares": figures.channel_shares(channels),
        "pca": figures.pca_scatter(scores, assignments, pca["explained_variance_ratio"]),
        "hops": figures.hop_times(assignments),
        "pop": figures.populations(frames),
    }
    if "skipped" in surrogate:
        surrogate_html = f"<p>Not trained: {html.escape(surrogate['skipped'])}.</p>"
    else:
        surrogate_rows = pd.DataFrame([{"model": k, "mean MAE (eV)": v["mean_mae_ev"],
                                        "S1–S0 gap MAE (eV)": v.get("gap_S1_S0", {}).get("mae_ev", np.nan), "fit (s)": v["fit_seconds"]}
                                       for k, v in surrogate["models"].items()])
        figs["parity"] = figures.parity(pd.read_csv(Path(surrogate_model_dir) / "heldout_predictions.csv"))
        surrogate_html = (f"<p>{surrogate['split']}: {surrogate['n_train_trajectories']} training / {surrogate['n_test_trajectories']} test "
                          f"trajectories ({surrogate['n_train_frames']} / {surrogate['n_test_frames']} frames), descriptor "
                          f"{html.escape(surrogate['descriptor'])}.</p>"
                          + surrogate_rows.to_html(index=False, float_format=lambda v: f'{v:.3f}', border=0, classes='tbl')
                          + _img(figs["parity"], "parity plot"))
    for name, png in figs.items():
        (out_dir / f"{name}.png").write_bytes(png)
    qc_fail = qc[~qc["qc_pass"]][["trajectory_id", "qc_reason"]]
    geo_list = "".join(f"<li>{html.escape(c)}: <code>geometries/{html.escape(f)}</code> ({html.escape(reps[c])})</li>" for c, f in geo.items())
    cfg = html.escape(json.dumps(config_summary or {}, indent=1))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>hopscope report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}} .tbl{{border-collapse:collapse}}
.tbl td,.tbl th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}} img{{max-width:100%}} code{{background:#f4f4f4}}</style>
</head><body>
<h1>hopscope channel report</h1>
<p>{int((table.status == 'ok').sum())} of {len(table)} trajectories analysed, {len(events)} reached the analysis event.
Units: time in fs, energies in eV, distances in Å, angles in degrees.</p>
<h2>Channels</h2>{_table_html(channels)}
{_img(figs['shares'], 'channel shares')}
<h2>Motions: PCA of the event geometries</h2><p>{pca['n_events']} events, {pca['n_features']} features, {pca['n_components']} components.</p><ul>{loadings}</ul>
{_img(figs['pca'], 'PCA scatter')}
<h2>Hop times and populations</h2>{_img(figs['hops'], 'hop times')}{_img(figs['pop'], 'populations')}
<h2>Representative geometries</h2><ul>{geo_list}</ul>
<h2>Quality control</h2><p>{len(qc_fail)} trajectories failed a QC check; {len(excluded)} excluded in total.</p>
{_table_html(excluded) if len(excluded) else '<p>none</p>'}
<h2>MLP surrogate</h2>{surrogate_html}
<h2>Configuration</h2><pre>{cfg}</pre>
</body></html>"""
    (out_dir / "report.html").write_text(page)
    log.info("report: %d channels written to %s", len(channels), out_dir)
    return channels
