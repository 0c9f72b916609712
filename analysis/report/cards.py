"""One card per channel: the medoid drawing beside the channel's numbers (share and interval, stability, motions
with their size, event and formation times, lifetime, gap at the event, conformer) and links to its XYZ files."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.kinetics import tau_words
from analysis.report.html import img


def _num(value, fmt: str, unit: str = "") -> str:
    return f"{value:{fmt}}{unit}" if value is not None and np.isfinite(value) else "–"


def card_html(row: pd.Series, drawing_png: bytes | None, files: dict | None, time_label: str, gap_name: str,
              moving_names: list[str]) -> str:
    """One channel card from its row of the channel table (see :func:`analysis.report.build.channel_table`)."""
    label = html.escape(str(row["channel"]))
    tentative = bool(row.get("tentative", False))
    head = f"<h4>{label}{' <span class=tent>(tentative)</span>' if tentative else ''}: {html.escape(str(row.get('important_motion', '')))}</h4>"
    tname = "hop_time" if time_label == "hop time" else "event_time"
    items = [
        ("share", f"{row['percent']:.1f} % of events ({int(row['n_events'])})"
                  + (f", 95 % interval {row['percent_lo']:.0f}–{row['percent_hi']:.0f} %" if np.isfinite(row.get("percent_lo", np.nan)) else "")
                  + f"; {row['percent_of_trajectories']:.1f} % of trajectories"),
        ("stability", (_num(row.get("stability", np.nan), ".2f") + " (mean Jaccard over bootstrap resamples"
                       + ("; below threshold: tentative)" if tentative else ")"))),
        ("motions", "; ".join(html.escape(str(m)) for m in (row.get("motion_1", ""), row.get("motion_2", "")) if m)),
        ("moving atoms", html.escape(", ".join(moving_names)) or "–"),
        (time_label, f"{_num(row.get(f'{tname}_fs_mean'), '.0f')} ± {_num(row.get(f'{tname}_fs_sd'), '.0f')} fs (mean ± sd)"),
    ]
    if "formation_time_fs_median" in row:
        items.append(("formation time", f"{_num(row['formation_time_fs_median'], '.0f', ' fs')} (median); commits "
                                        f"{_num(row.get('lead_time_fs_median'), '.0f', ' fs')} before the event"))
    if np.isfinite(row.get("tau_fs", np.nan)):
        items.append(("lifetime", f"{tau_words(row['tau_fs'])} ({row['tau_fs_lo']:.0f}–{row['tau_fs_hi']:.0f}), "
                                  f"t0 = {row['t0_fs']:.0f} fs ({row['t0_fs_lo']:.0f}–{row['t0_fs_hi']:.0f}); 95 % bootstrap"))
    if np.isfinite(row.get("gap_ev_median", np.nan)):
        items.append((f"{gap_name} gap at the event", f"{row['gap_ev_median']:.2f} eV (median; quartiles "
                                                      f"{row['gap_ev_q1']:.2f}–{row['gap_ev_q3']:.2f})"))
    if row.get("products"):
        items.append(("products", html.escape(str(row["products"])) + " (trajectories, by their bonding at the end)"))
    for col in row.index:
        if col.startswith("conformer[") and row[col]:
            items.append((f"conformer {col[len('conformer['):-1]}", html.escape(str(row[col]))))
    if "medoid" in row and row["medoid"]:
        items.append(("medoid", html.escape(str(row["medoid"]))))
    if files:
        items.append(("files", f'<a href="geometries/{html.escape(files["medoid"])}">medoid XYZ</a> · '
                               f'<a href="geometries/{html.escape(files["trajectory"])}">its trajectory around the event (XYZ)</a>'))
    body = "".join(f"<dt>{html.escape(k)}</dt><dd>{v}</dd>" for k, v in items)
    picture = img(drawing_png, f"{row['channel']} medoid geometry") if drawing_png else ""
    return f'<div class="card" id="card-{label}">{head}{picture}<dl>{body}</dl></div>'


def cards_html(cards: list[str]) -> str:
    """The cards of one transition in a wrapping row."""
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""
