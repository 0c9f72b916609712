"""Assemble the channel report: channels.csv, events.csv, channels.md, report.html (self-contained), geometries/,
warnings.txt.

The report has one section per transition (``S2→S1``, ``S1→S0`` …). A transition with too few events, or
whose events the density step leaves unresolved, still gets its section: what was found, in words, and its
event geometries. The ensemble summary (QC, final states, trajectories that never hop, populations) is
always there, even when every trajectory was excluded.
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.channel_size import MIN_CLUSTER_SIZE, MIN_SHARE, SMALL_RUN_SHARE, UNRESOLVED, smallest_channel
from analysis.io.paths import natural_key
from analysis.io.store import Store, usable_frames
from analysis.qc import ENERGY_GROUP_GAP_EV, energy_reference_groups
from analysis.products import WINDOW_FS, channel_products, product_shares, trajectory_products
from analysis.motions import Motion, loading_words, motion_details, phrase_bond_changes, shared_motions, symmetry_sign_flips
from analysis.kinetics import MODEL_TEXT, carry_final_states, channel_lifetimes, common_time_grid, ensemble_decay
from analysis.report import drawing, figures
from analysis.report.cards import cards_html, card_html
from analysis.report.forked import Background, Deferred, resolve
from analysis.report.html import img, page, table_html
from analysis.report.molecule import molecule_html, molecule_lines, numbering_drawing
from analysis.report.provenance import provenance_html
from analysis.io.text import format_xyz
from analysis.report.structures import (EventGeometries, channel_structures, event_geometries, event_motion_list,
                                       write_channel_files)
from analysis.report.surrogate import surrogate_html as surrogate_section
from analysis.symmetry import merged_phrase, phrase_atoms, phrase_orbit
from analysis.topology import Topology

log = logging.getLogger(__name__)

MAX_EVENT_GEOMETRIES = 10


def _count(n: int, one: str, many: str, bare: bool = False) -> str:
    """'1 trajectory', '3 trajectories' (``bare``: the word alone, for 'its'/'their')."""
    word = one if n == 1 else many
    return word if bare else f"{n} {word}"


def time_name(kind: str) -> str:
    """Column stem of an event's time: 'hop_time' for hops, 'event_time' for frame events."""
    return "hop_time" if kind == "hop" else "event_time"


def slug(transition: str) -> str:
    """File-name form of a transition: 'S1→S0' → 'S1-S0', 't = 100 fs' → 't_100_fs'."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", transition.replace("→", "-")).strip("_")


def _merged_motion(motion: Motion, used: pd.Series, topology: Topology) -> Motion:
    """The motion with its symmetry-equivalent forms when some of the channel's events were relabelled, the form
    most of its events take in their own labels first ('C4 puckering [-] / [+]', its change signed as that one)."""
    counts = used.astype(int).value_counts()
    order = sorted(set(counts.index) | {0}, key=lambda k: (-counts.get(k, 0), k))
    order = [k for k in order if k < len(topology.symmetries)]
    if len(order) < 2:
        return motion
    perms = [topology.symmetries[k][0] for k in order]
    flips = symmetry_sign_flips(motion.column, topology, order)
    phrase = merged_phrase(motion.phrase, topology.names, perms, flips)
    return replace(motion, phrase=phrase, change=-motion.change if flips[0] else motion.change)


def _channel_motions(events: pd.DataFrame, reference: pd.DataFrame, topology: Topology, used: pd.Series, n: int = 2) -> list[Motion]:
    """The channel's ``n`` largest motions with their symmetry-equivalent forms (:func:`_merged_motion`); a motion
    whose forms are those of a larger one is the same motion on the equivalent atoms and is skipped."""
    perms = [topology.symmetries[k][0] for k in sorted(set(used.astype(int)) | {0}) if k < len(topology.symmetries)]
    out, seen = [], set()
    for motion in motion_details(events, reference, topology, n=n + 2):
        orbit = phrase_orbit(motion.phrase, topology.names, perms) if len(perms) > 1 else frozenset([motion.phrase])
        if orbit not in seen:
            seen.add(orbit)
            out.append(_merged_motion(motion, used, topology))
    return out[:n]


def no_event_hint(event: str) -> str:
    """What to do when no trajectory has an event of ``event``: with hops as events, analyse a fixed time instead."""
    if event in ("transitions", "first_hop", "last_hop_to_ground") or event.startswith("hop:"):
        return (" (no trajectory has a hop of this kind; to analyse trajectories without one, set features.event to "
                "final_frame or time:<t_fs>)")
    return ""


def frame_index_time_lines(table: pd.DataFrame) -> list[str]:
    """A warning when analysed trajectories have no times (plain XYZ without a time column or comment): their
    'fs' are frame indices (reader flag ``time_is_frame_index``)."""
    if "flags" not in table:
        return []
    ok = table[(table["status"] == "ok") & table["flags"].fillna("").str.contains("time_is_frame_index", regex=False)]
    if not len(ok):
        return []
    return [f"{_count(len(ok), 'trajectory has', 'trajectories have')} no times (XYZ without a time_fs column or 'time=' comments): "
            "their times in fs here are frame indices, and so are hop times and lifetimes; give the times to read real ones"]


def time_event_lines(table: pd.DataFrame, qc: pd.DataFrame | None, event: str) -> list[str]:
    """Why a ``time:<t_fs>`` event found no trajectory: every analysed one ends before t (QC may have cut them),
    with the latest end; empty for other events or without the QC table's ``last_usable_time_fs``."""
    if not event.startswith("time:") or qc is None or "last_usable_time_fs" not in qc:
        return []
    ok = set(table.loc[table["status"] == "ok", "trajectory_id"])
    ends = qc.loc[qc["trajectory_id"].isin(ok), "last_usable_time_fs"].dropna()
    t_fs = float(event.split(":", 1)[1])
    if not len(ends) or ends.max() >= t_fs:
        return []
    return [f"  every analysed trajectory ends before {t_fs:g} fs (the latest at {ends.max():.1f} fs, after QC): "
            "choose an earlier time"]


def channel_table(assignments: pd.DataFrame, events: pd.DataFrame, reference: pd.DataFrame, topology: Topology,
                  n_trajectories: int | None = None, stats: pd.DataFrame | None = None,
                  formation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Channels of one transition: channel, n_events, percent (of its events) with its 95 % interval
    (``percent_lo``/``_hi``), ``stability`` and ``tentative`` (from ``stats``), percent_of_trajectories,
    important_motion, second_motion (symmetry-equivalent forms joined, "N1–C2 / N1–C5 stretching", with
    ``symmetry_relabelled`` events), ``<time>_fs_mean``/``_sd`` (hop_time for hops, else event_time),
    ``formation_time_fs_median`` and ``lead_time_fs_median`` (from ``formation``), and per ring
    ``conformer[ringK]``: the most frequent label at the event with its share. ``unresolved`` (density noise)
    is a row of its own with ``resolved`` False and no motion."""
    key = ["trajectory_id", "frame"]
    ev = events.merge(assignments[key + ["channel"]], on=key)
    kind = str(assignments["kind"].iloc[0]) if "kind" in assignments and len(assignments) else "hop"
    tname = time_name(kind)
    n_total = len(assignments)
    n_traj = n_trajectories or assignments["trajectory_id"].nunique()
    conformer_cols = [c for c in events.columns if c.startswith("conformer[")]
    rows = []
    for channel, group in assignments.groupby("channel", sort=True):
        resolved = channel != UNRESOLVED
        mine = ev[ev["channel"] == channel]
        used = mine["symmetry"] if "symmetry" in mine else pd.Series(dtype=int)
        details = _channel_motions(mine, reference, topology, used) if resolved and len(reference) else []
        motions = [m.phrase for m in details]
        t = group["event_time_fs"].dropna()
        st = stats.set_index("channel").reindex([channel]).iloc[0] if stats is not None and len(stats) else None
        row = {"channel": channel, "resolved": resolved, "n_events": len(group), "percent": 100.0 * len(group) / n_total,
               "percent_lo": float(st["share_percent_lo"]) if st is not None else np.nan,
               "percent_hi": float(st["share_percent_hi"]) if st is not None else np.nan,
               "stability": float(st["stability"]) if st is not None else np.nan,
               "tentative": bool(st["tentative"] is True or st["tentative"] == 1) if st is not None and resolved else False,
               "percent_of_trajectories": 100.0 * group["trajectory_id"].nunique() / n_traj,
               "important_motion": motions[0] if motions else "",
               "important_motion_change": details[0].change if details else np.nan,
               "important_motion_unit": details[0].unit if details else "",
               "second_motion": motions[1] if len(motions) > 1 else "",
               "second_motion_change": details[1].change if len(details) > 1 else np.nan,
               "second_motion_unit": details[1].unit if len(details) > 1 else "",
               "symmetry_relabelled": int((used > 0).sum()),
               f"{tname}_fs_mean": float(t.mean()) if len(t) else np.nan,
               f"{tname}_fs_sd": float(t.std(ddof=1)) if len(t) > 1 else np.nan}
        if formation is not None and len(formation):
            f = formation[formation["channel"] == channel]
            row["formation_time_fs_median"] = float(f["formation_time_fs"].median()) if len(f) else np.nan
            row["lead_time_fs_median"] = float(f["lead_time_fs"].median()) if len(f) else np.nan
        for col in conformer_cols:
            labels = ev.loc[ev["channel"] == channel, col].dropna()
            counts = labels.value_counts()
            row[col] = f"{counts.index[0]} ({100.0 * counts.iloc[0] / len(labels):.0f} %)" if len(labels) else ""
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["resolved", "n_events", "channel"], ascending=[False, False, True]).reset_index(drop=True)


def write_geometries(wanted: dict[str, tuple[str, int]], store_paths, out_dir: Path, comment: str = "",
                     atoms=None) -> dict[str, str]:
    """XYZ (Å) of each named (trajectory_id, frame) geometry (its analysed ``atoms``, an
    :class:`analysis.atoms.AtomSelection`; None: all); returns name → file name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_tid: dict[str, list[tuple[str, int]]] = {}
    for name, (tid, frame) in wanted.items():
        by_tid.setdefault(tid, []).append((name, frame))
    files = {}
    for path in store_paths:
        with Store(path, atoms) as store:
            for tid in set(store.ids) & set(by_tid):
                time_fs, sym = store.array(tid, "time_fs"), store.meta[tid]["symbols"]
                for name, frame in by_tid[tid]:
                    (out_dir / f"{name}.xyz").write_text(format_xyz(
                        store.rows(tid, "coords_angstrom", frame), sym, [f"{tid} frame {frame} t={time_fs[frame]:.2f} fs {comment}(Angstrom)"]),
                        encoding="utf-8")
                    files[name] = f"{name}.xyz"
    return dict(sorted(files.items()))


def motion_text(phrase: str, change: float, unit: str) -> str:
    """'C6 puckering [+] +0.52 Å' (the phrase alone when there is no number)."""
    return str(Motion(phrase, "", change, unit)) if phrase else ""


MAX_LISTED_EVENTS = 100
EVENT_COLUMNS = ["trajectory_id", "frame", "event_time_fs", "channel", "symmetry", "gap_ev", "motion_1", "motion_1_change",
                 "motion_1_unit", "motion_2", "motion_2_change", "motion_2_unit"]


def event_details(geoms: EventGeometries, rows, reference: pd.DataFrame, topology: Topology) -> tuple[pd.DataFrame, list[list[Motion]]]:
    """The events ``rows`` of ``geoms`` in that order (:data:`EVENT_COLUMNS`): the gap between the transition's two
    states (eV) and the two largest motions from the FC frames ``reference``, named in the trajectory's own atom
    labels (``motion_k_change`` in ``motion_k_unit``); and those motions."""
    rows = np.asarray(rows, dtype=int)
    table = geoms.table.iloc[rows].reset_index(drop=True)
    out = table.reindex(columns=EVENT_COLUMNS[:6])
    motions: list[list[Motion]] = [[] for _ in range(len(rows))]
    if len(reference) and len(rows):
        motions = event_motion_list(EventGeometries(table, geoms.coords_angstrom[rows], geoms.fc_angstrom, geoms.gap_name),
                                    reference, topology)
    for k in range(2):
        out[f"motion_{k + 1}"] = [m[k].phrase if len(m) > k else "" for m in motions]
        out[f"motion_{k + 1}_change"] = [m[k].change if len(m) > k else np.nan for m in motions]
        out[f"motion_{k + 1}_unit"] = [m[k].unit if len(m) > k else "" for m in motions]
    return out, motions


def listed_events(geoms: EventGeometries, rows: np.ndarray, reference: pd.DataFrame, topology: Topology,
                  time_label: str = "hop time", max_rows: int = MAX_LISTED_EVENTS) -> tuple[pd.DataFrame, list[list[Motion]]]:
    """The events ``rows`` of ``geoms`` as the report shows them, earliest first (at most ``max_rows``): trajectory,
    frame, time, the gap between the transition's two states (eV) and the two largest motions from the FC frames
    with their size (:func:`event_details`); and those motions."""
    rows = np.asarray(rows, dtype=int)
    order = np.argsort(geoms.table["event_time_fs"].to_numpy(float)[rows], kind="stable")[:max_rows]
    details, motions = event_details(geoms, rows[order], reference, topology)
    out = details[["trajectory_id", "frame", "event_time_fs"]].rename(columns={"event_time_fs": f"{time_label} (fs)"})
    if np.isfinite(details["gap_ev"].to_numpy(float)).any():
        out[f"{geoms.gap_name} gap (eV)"] = details["gap_ev"].to_numpy(float)
    if any(motions):
        for k, label in enumerate(("largest motion from FC", "second motion")):
            out[label] = [motion_text(p, c, u) for p, c, u in
                          zip(details[f"motion_{k + 1}"], details[f"motion_{k + 1}_change"], details[f"motion_{k + 1}_unit"])]
    return out, motions


def distinct_loadings(loadings, topology, n: int = 3) -> list[tuple[str, float]]:
    """The first ``n`` of a component's (feature, loading) pairs, largest first, that name different motions: a
    torsion's sin and cos columns, or two dihedrals about one bond, are one twist."""
    out: list[tuple[str, float]] = []
    for feature, weight in loadings:
        words = loading_words(feature, weight, topology)
        if all(words != seen for seen, _ in out):
            out.append((words, float(weight)))
        if len(out) == n:
            break
    return out


def shared_motion_text(shared: list[tuple[str, int, float, str]], n_events: int) -> str:
    """'Shared by at least half of these events: C1-C6 stretching +0.41 Å (mean) in 3 of 3; …' ('' when none is)."""
    if not shared:
        return ""
    return "Shared by at least half of these events: " + "; ".join(
        f"{motion_text(phrase, change, unit)} (mean) in {n} of {n_events}" for phrase, n, change, unit in shared)


def add_structure_columns(channels: pd.DataFrame, geoms: EventGeometries, structures: dict, lifetimes: pd.DataFrame,
                          names: list[str]) -> pd.DataFrame:
    """The channel table with the medoid, the moving atoms, the gap at the event (median and quartiles, eV) and
    the lifetime fit of every channel."""
    out = channels.copy()
    gaps = geoms.table.groupby("channel")["gap_ev"]
    out["gap_ev_median"] = out["channel"].map(gaps.median())
    out["gap_ev_q1"] = out["channel"].map(gaps.quantile(0.25))
    out["gap_ev_q3"] = out["channel"].map(gaps.quantile(0.75))
    out["medoid"] = out["channel"].map(lambda c: f"{structures[c].trajectory_id} frame {structures[c].frame}" if c in structures else "")
    out["moving_atoms"] = out["channel"].map(lambda c: " ".join(names[i] for i in structures[c].moving) if c in structures else "")
    if len(lifetimes):
        keep = ["tau_fs", "tau_fs_lo", "tau_fs_hi", "t0_fs", "t0_fs_lo", "t0_fs_hi"]
        out = out.merge(lifetimes[["channel", *keep]], on="channel", how="left")
    return out


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table, floats to two decimals, an empty cell (NaN) as "—" rather than "nan"."""
    return table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".2f", missingval="—")


# From this many events on, a section's figures that need only the assignments start in a forked process while the
# section reads and superposes its event geometries (``build_report``'s time, n_jobs 2, without / with: 200 events
# 3.95 / 3.67 s, 500 5.22 / 4.64 s, 2,000 8.52 / 7.59 s); below, the fork does not pay (pyrazine, six transitions of
# 1-5 events: 2.75 / 3.18 s).
EARLY_MIN_EVENTS = 200


class TransitionSection:
    """Everything the report says about one transition (computed once, rendered to HTML, Markdown and CSV).

    ``draw``: draw the figures and molecule drawings now; else they are left in :attr:`pending` (and, with ``early``
    and at least :data:`EARLY_MIN_EVENTS` events, the figures that need only the assignments are started at once in
    a forked process, :attr:`early_figures`) for :func:`transition_sections` to draw and collect.
    """

    def __init__(self, transition, summary, events, assignments, scores, reference, topology, n_ok, out_dir, store_paths,
                 stats=None, formation=None, frames=None, seed: int = 0, min_channel_events: int | None = None,
                 products: pd.DataFrame | None = None, used_frames: dict[str, int] | None = None, draw: bool = True,
                 early: bool = False):
        self.transition = transition
        self.min_channel_events = min_channel_events
        self.summary = summary
        self.assignments = assignments
        self.topology = topology
        self.kind = str(assignments["kind"].iloc[0]) if len(assignments) else "hop"
        self.time_label = "hop time" if self.kind == "hop" else "event time"
        self.n_events = len(assignments)
        self.channels = (channel_table(assignments, events, reference, topology, n_trajectories=n_ok, stats=stats, formation=formation)
                         if self.n_events else pd.DataFrame())
        if len(self.channels) and products is not None and len(products):  # where each channel's trajectories end up
            self.channels["products"] = self.channels["channel"].map(channel_products(assignments, products)).fillna("")
        self.figures: dict[str, bytes] = {}
        self.geometries: dict[str, str] = {}
        self.structures: dict = {}
        self.files: dict[str, dict[str, str]] = {}
        self.drawings: dict[str, bytes] = {}
        self.pending: dict[tuple[str, str], Deferred] = {}  # ("figures" | "drawings", key) → the call that draws it
        self.gap_name = "gap"
        s = slug(transition)
        resolved = self.channels[self.channels["resolved"]] if len(self.channels) else self.channels
        # the figures that need only the assignments, scores and channel table, drawn (with ``early``) in a forked
        # process while this one reads and superposes the event geometries
        figure = {}
        if self.n_events:
            figure["times"] = Deferred(figures.event_times, assignments, self.time_label, f"{transition}: {self.time_label} per channel")
        if "skipped" not in summary and self.n_events:
            explained = summary.get("explained_variance_ratio_stored", summary["explained_variance_ratio"])
            figure["pca"] = Deferred(figures.pca_scatter, scores, assignments, explained, f"{transition}: events in PCA space")
            if len(resolved):  # a bar and a tree of "unresolved 100 %" would say nothing the sentence does not
                figure["shares"] = Deferred(figures.channel_shares, self.channels, f"{transition}: channels")
                figure["tree"] = Deferred(figures.hierarchy_tree, self.channels, f"{transition}: channel hierarchy (share of events)")
            figure["variance"] = Deferred(figures.explained_variance, summary["explained_variance_ratio"], f"{transition}: PCA")
        early = early and not draw and bool(figure) and self.n_events >= EARLY_MIN_EVENTS
        self.early_figures = Background(Deferred(resolve, figure)) if early else None  # collected by transition_sections
        # the events listed one by one: all of them when there is no channel, else the unresolved ones; and every
        # event's details (events.csv)
        self.event_list = pd.DataFrame()
        self.events_table = pd.DataFrame(columns=EVENT_COLUMNS)
        self.shared = ""   # no channel: the motions most of the events show, in words
        if "skipped" in summary or not len(resolved):
            wanted = {f"{s}_{r.trajectory_id}_frame{r.frame}": (r.trajectory_id, int(r.frame))
                      for r in assignments.head(MAX_EVENT_GEOMETRIES).itertuples()}
            self.geometries = write_geometries(wanted, store_paths, out_dir / "geometries", comment=f"{transition} event ",
                                               atoms=topology.selection())
            if self.n_events:
                geoms = event_geometries(events, assignments, store_paths, topology)
                self.gap_name = geoms.gap_name
                self.event_list, motions = listed_events(geoms, np.arange(self.n_events), reference, topology, self.time_label)
                self.shared = shared_motion_text(shared_motions(motions), len(motions))
                self.events_table = event_details(geoms, np.arange(self.n_events), reference, topology)[0]
        else:
            geoms = event_geometries(events, assignments, store_paths, topology)
            self.gap_name = geoms.gap_name
            unresolved_rows = np.flatnonzero(geoms.table["channel"].to_numpy() == UNRESOLVED)
            self.event_list, _ = listed_events(geoms, unresolved_rows, reference, topology, self.time_label)
            self.events_table = event_details(geoms, np.arange(self.n_events), reference, topology)[0]
            self.structures = channel_structures(geoms, scores)
            self.lifetimes = channel_lifetimes(assignments, random_state=seed)
            self.channels = add_structure_columns(self.channels, geoms, self.structures, self.lifetimes, topology.names)
            self.files = write_channel_files(self.structures, store_paths, topology, out_dir / "geometries", s,
                                             used_frames=used_frames)
            self.geometries = {c: f["medoid"] for c, f in self.files.items()}
            words = self.channels.set_index("channel")[["important_motion", "second_motion"]].fillna("") if len(self.channels) else None
            for c, st in self.structures.items():
                phrases = list(words.loc[c]) if words is not None and c in words.index else []
                named = phrase_atoms(phrases[0], topology.names) if phrases else []
                changes = [phrase_bond_changes(p, topology.names) for p in phrases]
                self.pending["drawings", c] = Deferred(
                    drawing.draw_molecule, st.coords_angstrom, topology.symbols, topology.bonds, geoms.fc_angstrom,
                    st.moving + named, topology.names,
                    named_changes=([b for ch in changes for b in ch[0]], [f for ch in changes for f in ch[1]]))
        self.resolved = self.channels[self.channels["resolved"]] if len(self.channels) else self.channels
        # the figures, slowest first (handed out in this order to the drawing processes: see transition_sections)
        if len(self.resolved) and frames is not None and len(frames):
            figure = {"kinetics": Deferred(figures.channel_kinetics, frames, assignments, self.lifetimes,
                                           f"{transition}: populations of each channel's trajectories (dashed: fit)"), **figure}
        self.pending = {**{("figures", k): call for k, call in figure.items()}, **self.pending}
        if draw:
            self.take_drawn(resolve(self.pending))

    def take_drawn(self, drawn: dict) -> None:
        """File the results of :attr:`pending` (same keys, e.g. from :func:`analysis.report.forked.resolve`) under
        :attr:`figures` and :attr:`drawings`, in their order."""
        for kind, key in self.pending:
            getattr(self, kind)[key] = drawn[kind, key]
        self.pending = {}

    @property
    def status(self) -> str:
        """One sentence: how many channels, or why none."""
        if "skipped" in self.summary:
            return self.summary["skipped"]
        n_unres = int((self.assignments["channel"] == UNRESOLVED).sum())
        below = (f", or channels of fewer than {self.min_channel_events} events, the smallest that "
                 "cluster.min_cluster_size and min_share resolve") if self.min_channel_events else ""
        unresolved = f"unresolved, {n_unres} event{'s' if n_unres != 1 else ''} (density noise{below})"
        if not len(self.resolved):
            return f"{self.transition}: {_count(self.n_events, 'event', 'events')}, all unresolved (density noise{below})"
        text = f"{self.transition}: {self.n_events} events in {len(self.resolved)} channel{'s' if len(self.resolved) > 1 else ''}"
        n_tent = int(self.resolved["tentative"].sum()) if "tentative" in self.resolved else 0
        if n_tent:
            text += f" ({n_tent} tentative: stability below the threshold, see the stability column)"
        return text + (f"; {unresolved}" if n_unres else "")

    def display_table(self, compact: bool = False) -> pd.DataFrame:
        """The channel table as shown: tentative channels marked in their name, share with its interval; ``compact``
        (HTML, beside the cards) keeps the columns a reader compares across channels, motions with their size."""
        t = self.channels.drop(columns=["resolved"]).copy()
        if "tentative" in t:
            t["channel"] = [f"{c} (tentative)" if tent else c for c, tent in zip(t["channel"], t["tentative"])]
            t = t.drop(columns=["tentative"])
        if "percent_lo" in t:
            t.insert(t.columns.get_loc("percent") + 1, "95 % interval",
                     [f"{lo:.0f}–{hi:.0f}" if np.isfinite(lo) else "" for lo, hi in zip(t.pop("percent_lo"), t.pop("percent_hi"))])
        if "stability" in t:  # NaN: a lone channel (no partition to be stable about) or no resampling
            t["stability"] = [f"{v:.2f}" if np.isfinite(v) else "—" for v in t["stability"].astype(float)]
        if "symmetry_relabelled" in t and not t["symmetry_relabelled"].any():
            t = t.drop(columns=["symmetry_relabelled"])
        if not compact:
            return t
        for which in ("important_motion", "second_motion"):
            if f"{which}_change" in t:
                t[which] = [motion_text(p, c, u) for p, c, u in zip(t[which], t.pop(f"{which}_change"), t.pop(f"{which}_unit"))]
        tname = time_name(self.kind)
        if f"{tname}_fs_mean" in t:
            t.insert(t.columns.get_loc(f"{tname}_fs_mean"), f"{self.time_label} (fs)",
                     [f"{m:.0f} ± {sd:.0f}" if np.isfinite(sd) else f"{m:.0f}" for m, sd in zip(t.pop(f"{tname}_fs_mean"), t.pop(f"{tname}_fs_sd"))])
        if "tau_fs" in t:
            t["τ (fs)"] = [("<1" if v < 1 else f"{v:.0f}") if np.isfinite(v) else "" for v in t["tau_fs"]]  # <1: a step
        if "gap_ev_median" in t:
            t[f"{self.gap_name} gap (eV)"] = t["gap_ev_median"]
        drop = [c for c in t.columns if c.startswith(("tau_fs", "t0_fs", "gap_ev", "lead_time")) or c in ("medoid", "moving_atoms")]
        return t.drop(columns=drop).rename(columns={"n_events": "events", "percent": "share (%)", "percent_of_trajectories": "% of trajectories",
                                                    "formation_time_fs_median": "formation (fs, median)"})

    def csv_rows(self) -> pd.DataFrame:
        return self.channels.assign(transition=self.transition) if len(self.channels) else pd.DataFrame()

    def markdown(self) -> list[str]:
        out = [f"## {self.transition}", "", self.status + ".", ""]
        if len(self.resolved):
            # the HTML's compact table (motions with their size, hop time as mean ± sd, τ); every column is in channels.csv
            out += [markdown_table(self.display_table(compact=True)), "",
                    "The full table (lifetime intervals, gap quartiles, medoid, moving atoms): channels.csv.", ""]
            if len(self.event_list):
                out += [f"{self.list_caption}:", "", markdown_table(self.event_list), ""]
        elif len(self.event_list):
            out += [f"{self.list_caption}:", "", markdown_table(self.event_list), ""]
            out += [self.shared + ".", ""] if self.shared else []
        return out

    @property
    def list_caption(self) -> str:
        """What the event list holds: the unresolved events beside a channel table, else every event."""
        which = "Unresolved events" if len(self.resolved) else "Events"
        n = int((self.assignments["channel"] == UNRESOLVED).sum()) if len(self.resolved) else self.n_events
        shown = f", the first {len(self.event_list)} by time" if len(self.event_list) < n else ""
        return f"{which} ({n}{shown}), each with its own largest motions from the FC geometry"

    def cards(self) -> str:
        """One card per resolved channel (drawing, numbers, files)."""
        out = []
        for _, row in self.resolved.iterrows():
            c = row["channel"]
            st = self.structures.get(c)
            row = row.copy()
            row["motion_1"] = motion_text(row.get("important_motion", ""), row.get("important_motion_change", np.nan), row.get("important_motion_unit", ""))
            row["motion_2"] = motion_text(row.get("second_motion", ""), row.get("second_motion_change", np.nan), row.get("second_motion_unit", ""))
            out.append(card_html(row, self.drawings.get(c), self.files.get(c), self.time_label, self.gap_name,
                                 [self.topology.names[i] for i in st.moving] if st else []))
        return cards_html(out)

    def html(self, pca_summary: dict) -> str:
        t = html.escape(self.transition)
        parts = [f'<h2 id="{html.escape(slug(self.transition))}">{t}</h2>', f"<p>{html.escape(self.status)}.</p>"]
        if len(self.resolved):
            parts += [f"<h3>{t}: channels</h3>", "<p>Each card: the channel's medoid event geometry (the event with the "
                      "smallest summed distance to the others in PCA space), superposed on the Franck–Condon geometry "
                      "(grey) with the atoms that move most and the atoms its motion names highlighted (orange, arrows from their "
                      "FC positions); a bond broken at the event is dashed red, a bond formed dotted blue.</p>",
                      self.cards(), table_html(self.display_table(compact=True), digits=2)]
            if len(self.event_list):
                parts.append(f"<details><summary>{html.escape(self.list_caption)}</summary>"
                             f"{table_html(self.event_list, digits=2)}</details>")
        elif len(self.event_list):
            parts += [f"<p>{html.escape(self.list_caption)}:</p>", table_html(self.event_list, digits=2)]
            parts += [f"<p>{html.escape(self.shared)}.</p>"] if self.shared else []
        pics = [img(self.figures[k], f"{self.transition} {k}") for k in ("shares", "tree") if k in self.figures]
        if pics:
            parts.append('<div class="row">' + "".join(pics) + "</div>")
        if "top_loadings" in pca_summary:
            items = "".join(
                f"<li><b>{pc}</b> ({100 * v:.1f} %): " + ", ".join(
                    f"{html.escape(words)} ({w:+.2f})" for words, w in distinct_loadings(pca_summary["top_loadings"][pc], self.topology))
                + "</li>" for pc, v in zip(pca_summary["top_loadings"], pca_summary["explained_variance_ratio"]))
            parts.append(f"<h3>{t}: principal components</h3><p>{pca_summary['n_events']} events, "
                         f"{pca_summary['n_features']} features, {pca_summary['n_components']} components; the motions "
                         "along each component's positive direction, with their loadings:</p>"
                         f"<ul>{items}</ul>")
        pics = [img(self.figures[k], f"{self.transition} {k}") for k in ("pca", "variance") if k in self.figures]
        if pics:
            parts.append('<div class="row">' + "".join(pics) + "</div>")
        if "times" in self.figures or "kinetics" in self.figures:
            parts.append(f"<h3>{t}: timing and kinetics</h3>")
        if "kinetics" in self.figures:
            parts.append(f"<p>Lifetimes: the share of each channel's trajectories that have not yet had their event is "
                         f"fitted with {html.escape(MODEL_TEXT)} (plateau c = 0), by least squares; 95 % intervals from "
                         "100 bootstrap resamples of the trajectories. Times from the start of the run.</p>")
        for key in ("times", "kinetics"):
            if key in self.figures:
                parts.append(img(self.figures[key], f"{self.transition} {key}"))
        if self.geometries and not self.files:
            parts.append("<p>Event geometries (XYZ, Å): " + ", ".join(
                f'<a href="geometries/{html.escape(f)}">{html.escape(f)}</a>' for f in self.geometries.values()) + "</p>")
        return "\n".join(parts)


def ensemble_summary(table: pd.DataFrame, events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Transitions seen, final states and trajectories that never hop, over the ok trajectories."""
    ok = table[table["status"] == "ok"]
    final = ok.groupby("final_label").size().rename("trajectories").reset_index() if len(ok) else pd.DataFrame(columns=["final_label", "trajectories"])
    if len(final):
        final["percent"] = 100.0 * final["trajectories"] / len(ok)
    never = ok[pd.to_numeric(ok["n_hops"], errors="coerce").fillna(0) == 0][["trajectory_id", "n_frames", "final_label"]]
    if len(events):
        kinds = events.groupby("transition", sort=False).agg(
            trajectories=("trajectory_id", "nunique"), events=("trajectory_id", "size"),
            time_fs_mean=("time_fs", "mean"), time_fs_min=("time_fs", "min"), time_fs_max=("time_fs", "max")).reset_index()
    else:
        kinds = pd.DataFrame(columns=["transition", "trajectories", "events", "time_fs_mean", "time_fs_min", "time_fs_max"])
    return {"final_states": final, "never_hop": never, "transitions": kinds}


def over_analysed_frames(table: pd.DataFrame, store_paths) -> pd.DataFrame:
    """The trajectory table with ``n_hops``, ``final_state`` and ``final_label`` of every trajectory QC truncated
    recounted over the frames analysed (the ingest counted them over the whole run)."""
    cut = truncated_rows(table)
    if not len(cut):
        return table
    out = table.copy()
    used = dict(zip(cut["trajectory_id"], cut["n_frames_used"].astype(int)))
    row_of = {tid: i for i, tid in zip(out.index, out["trajectory_id"])}
    for path in store_paths:
        with Store(path) as store:
            for tid in sorted(set(store.ids) & set(used)):
                head = store.trajectory(tid).head(used[tid])
                i = row_of[tid]
                out.loc[i, "n_hops"] = len(head.hops)
                out.loc[i, "final_state"] = int(head.active_state[-1])
                out.loc[i, "final_label"] = str(head.frame_labels[-1])
    return out


def truncated_rows(table: pd.DataFrame) -> pd.DataFrame:
    """ok trajectories that QC cut at their first failed frame-local check (``qc.policy: truncate``)."""
    if "n_frames_used" not in table:
        return table.iloc[:0][["trajectory_id", "reason"]]
    cut = (table["status"] == "ok") & (table["n_frames_used"] < table["n_frames"])
    return table.loc[cut, ["trajectory_id", "n_frames", "n_frames_used", "reason"]]


def mixed_ensemble_lines(table: pd.DataFrame, qc: pd.DataFrame | None = None) -> list[str]:
    """Warnings that the analysed trajectories may not belong together: files of more than one program, or first
    frames whose lowest-state energies fall into separate groups (:func:`analysis.qc.energy_reference_groups`:
    another method, basis or energy reference)."""
    ok = table[table["status"] == "ok"]
    out = []
    formats = ok["format"].value_counts() if "format" in ok else pd.Series(dtype=int)
    if len(formats) > 1:
        out.append("the trajectories were read from the files of more than one program ("
                   + ", ".join(f"{fmt} {n}" for fmt, n in formats.items())
                   + "): state names and energies may not be comparable between them")
    if qc is None or "fc_ground_energy_ev" not in qc or not len(ok):
        return out
    energy = qc.assign(trajectory_id=qc["trajectory_id"].astype(str)).set_index("trajectory_id")["fc_ground_energy_ev"]
    energy = energy[energy.index.isin(set(ok["trajectory_id"].astype(str)))]
    groups = energy_reference_groups(energy.index, energy.to_numpy())
    if len(groups) > 1:
        out.append(f"the first frames' lowest-state energies fall into {len(groups)} groups more than {ENERGY_GROUP_GAP_EV:g} eV "
                   "apart, as from different electronic-structure methods or energy references; the channels mix them (the "
                   "surrogate keeps the largest group):")
        for ids in groups:
            e = energy.loc[ids]
            ids = sorted(ids, key=natural_key)
            shown = " ".join(ids[:6]) + (f" … ({len(ids)})" if len(ids) > 6 else "")
            out.append(f"  {e.min():.2f} to {e.max():.2f} eV: {shown}")
    return out


def warnings_lines(table: pd.DataFrame, sections: list[TransitionSection], surrogate: dict, n_events: int, event: str,
                   qc: pd.DataFrame | None = None) -> list[str]:
    """What a user must not miss, one line each (printed again at the end of the run)."""
    out = []
    excluded = table[table["status"] != "ok"]
    if len(excluded):
        out.append(f"{len(excluded)} of {len(table)} trajectories excluded:")
        out += [f"  {r.trajectory_id}: {r.reason}" for r in excluded.head(10).itertuples()]
        if len(excluded) > 10:
            out.append(f"  ... and {len(excluded) - 10} more (results/qc/trajectories.parquet)")
    truncated = truncated_rows(table)
    if len(truncated):
        subject = "1 trajectory analysed only up to its" if len(truncated) == 1 else f"{len(truncated)} trajectories analysed only up to their"
        out.append(f"{subject} first failed energy or finiteness check (qc.policy truncate):")
        out += [f"  {r.trajectory_id}: {r.reason}" for r in truncated.head(10).itertuples()]
    out += mixed_ensemble_lines(table, qc)
    out += frame_index_time_lines(table)
    if not (table["status"] == "ok").any():
        out.append("no trajectory passed ingest and QC: nothing was analysed")
    elif n_events == 0:
        out.append(f"no trajectory has an analysis event ({event}): no channels{no_event_hint(event)}")
        out += time_event_lines(table, qc, event)
    for s in sections:
        if "skipped" in s.summary or not len(s.resolved):
            out.append(f"no channels for {s.status}")
    if "skipped" in surrogate:
        out.append(f"surrogate not trained: {surrogate['skipped']}")
    elif surrogate.get("models"):
        if surrogate.get("left_out"):
            left = surrogate["left_out"]
            out.append(f"surrogate trained without {_count(len(left), 'trajectory', 'trajectories')} (one surrogate is one molecule, "
                       "one set of states and one energy reference):")
            out += [f"  {tid}: {why}" for tid, why in list(left.items())[:10]]
        chosen, models = surrogate["chosen"], surrogate["models"]
        if models[chosen]["mean_mae_ev"] > models["mean"]["mean_mae_ev"]:
            out.append(f"surrogate: on the held-out trajectories the predictor ({chosen}, MAE {models[chosen]['mean_mae_ev']:.3f} eV) "
                       f"is worse than the training mean ({models['mean']['mean_mae_ev']:.3f} eV): too few or too different "
                       "trajectories to learn from; do not use its predictions")
        if surrogate["uncertainty"]["coverage_2sigma"] < 0.8:
            out.append(f"surrogate: only {100 * surrogate['uncertainty']['coverage_2sigma']:.0f} % of held-out errors lie "
                       "inside its ±2σ: the uncertainty is overconfident on new trajectories")
    return out


def warnings_html(lines: list[str]) -> str:
    """List items of the warnings; indented lines become a nested list under the line before them."""
    out, sub = [], []
    for line in lines:
        if line.startswith("  ") and out:
            sub.append(f"<li>{html.escape(line.strip())}</li>")
            continue
        if sub:
            out[-1] = out[-1].replace("</li>", f"<ul>{''.join(sub)}</ul></li>")
            sub = []
        out.append(f"<li>{html.escape(line.strip())}</li>")
    if sub:
        out[-1] = out[-1].replace("</li>", f"<ul>{''.join(sub)}</ul></li>")
    return "".join(out)


SIGN_CONVENTION = ("A ring motion's [+] / [-] (puckering, out-of-plane) is the side of the ring's Cremer-Pople mean plane "
                   "its normal R' x R'' points to, with the ring atoms in order from the lowest-numbered one towards its "
                   "lower-numbered neighbour.")


def _summary_html(table, summary, n_events, event) -> str:
    ok = int((table["status"] == "ok").sum())
    parts = [f"<p>{ok} of {_count(len(table), 'trajectory', 'trajectories')} analysed ({len(table) - ok} excluded); analysis event: "
             f"<code>{html.escape(event)}</code>, {_count(n_events, 'event', 'events')}. Units: time fs, energies eV, distances Å, angles "
             "degrees. States are named spectroscopically (S0 = ground state; Newton-X/PyRAI2MD/NEXMD state k is "
             f"S(k−1); SHARC states by their MCH label). {html.escape(SIGN_CONVENTION)}</p>"]
    if len(summary["transitions"]):
        parts.append("<h3>Transitions</h3>" + table_html(summary["transitions"]))
    else:
        parts.append(f"<p>No trajectory has an analysis event{html.escape(no_event_hint(event))}.</p>")
    if len(summary["final_states"]):
        parts.append("<h3>Final states</h3><p>State at the last frame analysed (for trajectories QC truncated: before the "
                     "cut).</p>" + table_html(summary["final_states"]))
    never = summary["never_hop"]
    if ok:
        ids = ", ".join(never["trajectory_id"].head(20)) + (" …" if len(never) > 20 else "")
        verb = "never hops" if ok == 1 else "never hop"
        parts.append(f"<p>{len(never)} of {_count(ok, 'trajectory', 'trajectories')} {verb}" + (f": {html.escape(ids)}" if len(never) else "") + ".</p>")
    return "\n".join(parts)


@dataclass
class ReportInputs:
    """Every table the report is built from, read once (:func:`read_report_inputs`)."""

    table: pd.DataFrame          # final trajectory table (status, reason, ...)
    qc: pd.DataFrame
    assignments: pd.DataFrame
    events: pd.DataFrame
    frames: pd.DataFrame         # time-resolved states of every batch (trajectory_id, time_fs, frame, active_state, state_label)
    reference: pd.DataFrame      # the first frame's features of every trajectory
    scores: pd.DataFrame
    pca: dict                    # per-transition PCA summary
    topology: Topology
    surrogate: dict              # surrogate metrics
    stats: pd.DataFrame | None
    formation: pd.DataFrame | None
    stopped: list[str]           # runs their program stopped once relaxed (:func:`stopped_runs`), in ``frames`` to the end

    @property
    def n_ok(self) -> int:
        return int((self.table["status"] == "ok").sum())


FRAME_STATE_COLUMNS = ("trajectory_id", "time_fs", "frame", "active_state", "state_label")


def stopped_runs(table: pd.DataFrame, qc: pd.DataFrame) -> list[str]:
    """Analysed trajectories, whole (not cut by QC), that their program stopped once relaxed (QC's
    ``stopped_after_relaxation``): the populations keep them in their final state to the end
    (:func:`analysis.kinetics.carry_final_states`)."""
    if "stopped_after_relaxation" not in qc or not len(table):
        return []
    ok = table["status"] == "ok"
    whole = table[ok & (table["n_frames_used"] >= table["n_frames"])] if "n_frames_used" in table else table[ok]
    stopped = set(qc.loc[qc["stopped_after_relaxation"].astype(bool), "trajectory_id"].astype(str))
    return [t for t in whole["trajectory_id"].astype(str) if t in stopped]


def followed_to_the_end(products: pd.DataFrame, stopped) -> pd.DataFrame:
    """``products`` with the end time of each run its program ``stopped`` once relaxed (:func:`stopped_runs`) set to the
    ensemble's last: complete, its product final, it is followed to the end as the populations follow it."""
    if not len(products):
        return products
    last = products["end_time_fs"].max()
    return products.assign(end_time_fs=products["end_time_fs"].where(~products["trajectory_id"].astype(str).isin(set(stopped)), last))


def read_report_inputs(trajectories_parquet, qc_csv, assignments_csv, events_parquet, frames_parquet, scores_parquet,
                       pca_json, topology_json, surrogate_metrics_json, stats_csv=None, formation_csv=None) -> ReportInputs:
    """Read the tables :func:`build_report` needs (``frames_parquet``: one path or the per-batch list)."""
    frame_paths = [frames_parquet] if isinstance(frames_parquet, (str, Path)) else list(frames_parquet)
    # the populations need the states of every frame, the motion words the features of the first: the feature
    # columns of later frames (most of the table) are not read
    def state_columns(path):
        return [c for c in FRAME_STATE_COLUMNS if c in pq.read_schema(path).names]

    table, qc = pd.read_parquet(trajectories_parquet), pd.read_csv(qc_csv, dtype={"trajectory_id": str})
    frames = pd.concat([pd.read_parquet(p, columns=state_columns(p)) for p in frame_paths], ignore_index=True)
    stopped = stopped_runs(table, qc)
    return ReportInputs(
        table=table, qc=qc,
        assignments=pd.read_csv(assignments_csv, dtype={"trajectory_id": str, "transition": str, "channel": str}),
        events=pd.read_parquet(events_parquet),
        frames=carry_final_states(common_time_grid(frames), stopped),
        reference=pd.concat([pd.read_parquet(p, filters=[("frame", "==", 0)]) for p in frame_paths], ignore_index=True),
        scores=pd.read_parquet(scores_parquet), pca=json.loads(Path(pca_json).read_text(encoding="utf-8"))["transitions"],
        topology=Topology.from_json(topology_json),
        surrogate=json.loads(Path(surrogate_metrics_json).read_text(encoding="utf-8")),
        stats=pd.read_csv(stats_csv, dtype={"channel": str, "transition": str}) if stats_csv else None,
        formation=(pd.read_csv(formation_csv, dtype={"channel": str, "transition": str, "trajectory_id": str})
                   if formation_csv else None),
        stopped=stopped)


def transition_sections(inputs: ReportInputs, out_dir: Path, store_paths, seed: int = 0,
                        cluster_params: dict | None = None, products: pd.DataFrame | None = None,
                        n_jobs: int = 1) -> list[TransitionSection]:
    """One :class:`TransitionSection` per reduced transition (each writes its geometry files under ``out_dir``);
    ``cluster_params`` (the config's ``cluster`` block; default the estimator's) say the smallest channel;
    ``products`` (:func:`analysis.products.trajectory_products`) add each channel's products. The figures and
    drawings of all sections are drawn together at the end, in ``n_jobs`` forked processes
    (:func:`analysis.report.forked.resolve`)."""
    d = inputs
    defaults = {"min_cluster_size": MIN_CLUSTER_SIZE, "min_share": MIN_SHARE, "small_run_share": SMALL_RUN_SHARE}
    size = {k: (cluster_params or {}).get(k, defaults[k]) for k in ("min_cluster_size", "min_share", "small_run_share")}
    reference = d.reference
    used = usable_frames(d.table)
    sections = []
    for transition in d.pca:
        sel = d.assignments["transition"] == transition
        sections.append(TransitionSection(transition, d.pca[transition], d.events[d.events["transition"] == transition],
                                          d.assignments[sel].reset_index(drop=True), d.scores[d.scores["transition"] == transition],
                                          reference, d.topology, d.n_ok, out_dir, store_paths,
                                          d.stats[d.stats["transition"] == transition] if d.stats is not None else None,
                                          d.formation[d.formation["transition"] == transition] if d.formation is not None else None,
                                          frames=d.frames, seed=seed, products=products, used_frames=used,
                                          min_channel_events=smallest_channel(int(sel.sum()), **size), draw=False,
                                          early=n_jobs > 1))
    early = [section.early_figures.result() if section.early_figures else {} for section in sections]  # drawn meanwhile
    pending = {(k, *key): call for k, section in enumerate(sections) for key, call in section.pending.items()
               if key[0] != "figures" or key[1] not in early[k]}
    slowest_first = dict(sorted(pending.items(), key=lambda kv: kv[0][1] != "figures"))  # then the small drawings
    drawn = resolve(slowest_first, n_jobs)
    for k, section in enumerate(sections):
        section.take_drawn({key: early[k][key[1]] if key[0] == "figures" and key[1] in early[k] else drawn[(k, *key)]
                            for key in section.pending})
    return sections


def events_csv_table(sections: list[TransitionSection]) -> pd.DataFrame:
    """Every event of every transition (``transition`` first, then :data:`EVENT_COLUMNS`), as written to ``events.csv``."""
    parts = [s.events_table.assign(transition=s.transition) for s in sections if len(s.events_table)]
    if not parts:
        return pd.DataFrame(columns=["transition", *EVENT_COLUMNS])
    return pd.concat(parts, ignore_index=True)[["transition", *EVENT_COLUMNS]]


def channels_csv_table(sections: list[TransitionSection]) -> pd.DataFrame:
    """The channel table of every transition (``transition`` first), as written to ``channels.csv``."""
    channels = pd.concat([s.csv_rows() for s in sections], ignore_index=True) if sections else pd.DataFrame()
    if len(channels):
        return channels[["transition", *[c for c in channels.columns if c != "transition"]]]
    return pd.DataFrame(columns=["transition", "channel", "resolved", "n_events", "percent", "important_motion"])


def excluded_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Trajectories not analysed: id, format, reason."""
    return table[table["status"] != "ok"][["trajectory_id", "format", "reason"]]


def products_display(products: pd.DataFrame) -> pd.DataFrame:
    """:func:`~analysis.products.product_shares` as shown: the share's 95 % interval as one 'lo–hi' column."""
    t = product_shares(products)
    t.insert(t.columns.get_loc("percent") + 1, "95 % interval",
             [f"{lo:.0f}–{hi:.0f}" for lo, hi in zip(t.pop("percent_lo"), t.pop("percent_hi"))])
    return t.rename(columns={"formed_at_fs_median": "formed at (fs, median)"})


PRODUCTS_TEXT = (f"Each trajectory's bonding over its last {WINDOW_FS:g} fs analysed against the Franck–Condon geometry "
                 "(the perception's bond cutoff), and the side of each double bond that can isomerize (cis/trans of the "
                 "two named substituents; a torsion left near 90° has not decided); symmetry-equivalent outcomes are one "
                 "product. 'truncated': trajectories QC cut short, whose end is where a check failed, not where the "
                 "dynamics ended. Intervals: 95 % Wilson score interval of the share (a yield from few trajectories is "
                 f"uncertain). Formed at: the time from which the changed bonds stay changed (running median over "
                 f"{WINDOW_FS:g} fs).")


def markdown_report(sections: list[TransitionSection], table: pd.DataFrame, event: str, topology: Topology | None = None,
                    products: pd.DataFrame | None = None) -> str:
    """``channels.md``: the molecule (with ``topology``: :func:`~analysis.report.molecule.molecule_lines`), the
    products (:func:`analysis.products.product_shares`), every transition's channels and the excluded trajectories."""
    n_ok, excluded = int((table["status"] == "ok").sum()), excluded_rows(table)
    md = ["# hopscope channel report", "", f"{n_ok} of {_count(len(table), 'trajectory', 'trajectories')} analysed; event: `{event}`. "
          "Times in fs, energies in eV. " + SIGN_CONVENTION, ""]
    if topology is not None:
        md += ["## Molecule", "", *(f"- {line}" for line in molecule_lines(topology)), ""]
    if products is not None and len(products):
        md += ["## Products", "", PRODUCTS_TEXT, "", markdown_table(products_display(products)), ""]
    for s in sections:
        md += s.markdown()
    if not sections:
        md += [f"No trajectory has an analysis event: no channels{no_event_hint(event)}.", ""]
    md += ["## Excluded trajectories", "", excluded.to_markdown(index=False) if len(excluded) else "none", ""]
    return "\n".join(md)


def html_report(inputs: ReportInputs, sections: list[TransitionSection], summary: dict, warn: list[str], ensemble_fit,
                pop_png: bytes, surrogate_html: str, config_summary: dict, manifest_paths=(), molecule_png: bytes | None = None,
                products: pd.DataFrame | None = None, formation_png: bytes | None = None) -> str:
    """``report.html``: warnings, ensemble (with the molecule's numbering, :func:`~analysis.report.molecule.molecule_html`),
    one section per transition, QC, surrogate, provenance."""
    d = inputs
    excluded, truncated = excluded_rows(d.table), truncated_rows(d.table)
    qc_fail = d.qc[~d.qc["qc_pass"].astype(bool)] if len(d.qc) else d.qc
    warn_html = ('<div class="warn"><b>Read first</b><ul>' + warnings_html(warn) + "</ul></div>") if warn else ""
    body = [warn_html, '<h2 id="summary">Ensemble</h2>', _summary_html(d.table, summary, len(d.events), _event_name(d, config_summary)),
            molecule_html(d.topology, molecule_png),
            *([f"<h3>Products</h3><p>{html.escape(PRODUCTS_TEXT)}</p>", table_html(products_display(products))]
              if products is not None and len(products) else []),
            *([img(formation_png, "products over time")] if formation_png else []),
            img(pop_png, "populations"),
            (f"<p>Decay of the initially populated state: {html.escape(ensemble_fit.text())}; model {html.escape(MODEL_TEXT)}, "
             "least squares, 95 % intervals from 100 bootstrap resamples of the trajectories.</p>" if ensemble_fit.fitted else
             f"<p>Decay of the initially populated state ({html.escape(ensemble_fit.what.split(' ')[0])}): "
             f"{html.escape(ensemble_fit.text())}.</p>")]
    body += [s.html(d.pca[s.transition]) for s in sections]
    its = _count(len(truncated), "its", "their", bare=True)
    truncated_text = f", {len(truncated)} analysed up to {its} first failed energy or finiteness check" if len(truncated) else ""
    body += ['<h2 id="qc">Quality control</h2>',
             f"<p>{_count(len(qc_fail), 'trajectory', 'trajectories')} failed a QC check; {len(excluded)} excluded in total"
             f"{truncated_text}.</p>",
             "<h3>Excluded</h3>", table_html(excluded) if len(excluded) else "<p>none</p>",
             *(["<h3>Truncated</h3>", table_html(truncated)] if len(truncated) else []),
             '<h2 id="surrogate">Property surrogate</h2>', surrogate_html,
             '<h2 id="config">Provenance and configuration</h2>', provenance_html(config_summary or {}, manifest_paths)]
    toc = [("summary", "Ensemble")] + [(slug(s.transition), s.transition) for s in sections] + [
        ("qc", "Quality control"), ("surrogate", "Property surrogate"), ("config", "Provenance and configuration")]
    return page("hopscope channel report", toc, "\n".join(body))


def _event_name(inputs: ReportInputs, config_summary: dict | None) -> str:
    events = inputs.events
    return (config_summary or {}).get("features", {}).get("event", str(events["event"].iloc[0]) if len(events) else "transitions")


def write_figures(sections: list[TransitionSection], other: dict[str, bytes], fig_dir: Path) -> None:
    """Every figure and medoid drawing as ``fig_dir/<name>.png`` (the folder is emptied first)."""
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    fig_dir.mkdir(parents=True)
    for s in sections:
        for name, png in s.figures.items():
            (fig_dir / f"{slug(s.transition)}_{name}.png").write_bytes(png)
        for channel, png in s.drawings.items():
            (fig_dir / f"{slug(s.transition)}_{channel}_medoid.png").write_bytes(png)
    for name, png in other.items():
        (fig_dir / f"{name}.png").write_bytes(png)


def build_report(trajectories_parquet, qc_csv, assignments_csv, events_parquet, frames_parquet, scores_parquet,
                 pca_json, topology_json, surrogate_metrics_json, surrogate_model_dir, store_paths, out_dir,
                 config_summary: dict | None = None, stats_csv=None, formation_csv=None, next_csv=None,
                 manifest_paths=(), n_jobs: int = 1) -> pd.DataFrame:
    """Write channels.csv, events.csv, products.csv, channels.md, report.html (self-contained), figures/ (every figure as PNG),
    geometries/ and warnings.txt under ``out_dir``: :func:`read_report_inputs`, then :func:`transition_sections`,
    :func:`markdown_report`, :func:`html_report` and :func:`write_figures`.

    ``frames_parquet`` may be one path or a list of per-batch time-resolved feature tables. With ``n_jobs`` > 1
    the surrogate's section is drawn in a forked process beside the channels, and the channels' figures in
    ``n_jobs`` (:mod:`analysis.report.forked`); the files are the same. Returns the channel table of every
    transition (``transition`` column).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    d = read_report_inputs(trajectories_parquet, qc_csv, assignments_csv, events_parquet, frames_parquet, scores_parquet,
                           pca_json, topology_json, surrogate_metrics_json, stats_csv, formation_csv)
    seed = int((config_summary or {}).get("seed", 0))
    surrogate = Background(Deferred(surrogate_section, d.surrogate, surrogate_model_dir, d.scores, d.assignments, store_paths,
                                    next_csv), enabled=n_jobs > 1)
    event = _event_name(d, config_summary)
    analysed = over_analysed_frames(d.table, store_paths)  # final states over the frames analysed
    products = trajectory_products(store_paths, usable_frames(d.table), d.topology, truncated_rows(d.table)["trajectory_id"])
    products.insert(3, "final_label", products["trajectory_id"].map(dict(zip(analysed["trajectory_id"], analysed["final_label"]))))
    products.to_csv(out_dir / "products.csv", index=False, float_format="%.2f")
    sections = transition_sections(d, out_dir, store_paths, seed, (config_summary or {}).get("cluster"), products, n_jobs)
    channels = channels_csv_table(sections)
    channels.to_csv(out_dir / "channels.csv", index=False, float_format="%.2f")
    events_csv_table(sections).to_csv(out_dir / "events.csv", index=False, float_format="%.4f")
    (out_dir / "channels.md").write_text(markdown_report(sections, d.table, event, d.topology, products), encoding="utf-8")
    warn = warnings_lines(d.table, sections, d.surrogate, len(d.events), event, d.qc)
    (out_dir / "warnings.txt").write_text("".join(w + "\n" for w in warn), encoding="utf-8")
    summary = ensemble_summary(analysed, d.events)
    ensemble_fit = ensemble_decay(d.frames, random_state=seed)
    pop = figures.populations_with_fit(d.frames, ensemble_fit)
    try:
        surrogate_html, surrogate_figs = surrogate.result()
    except Exception as exc:  # noqa: BLE001 - the channels report must not be lost to the surrogate's section
        log.exception("surrogate section failed")
        surrogate_html = (f"<p>The surrogate section could not be drawn ({html.escape(type(exc).__name__)}: "
                          f"{html.escape(str(exc))}); the traceback is in the report log.</p>")
        surrogate_figs = {}
    numbering = numbering_drawing(d.topology)
    formation_png = figures.product_formation(followed_to_the_end(products, d.stopped),
                                              "products over time (share of the analysed trajectories)")
    optional = {name: png for name, png in (("molecule", numbering), ("products", formation_png)) if png}
    write_figures(sections, {"populations": pop, **optional, **surrogate_figs}, out_dir / "figures")
    (out_dir / "report.html").write_text(html_report(d, sections, summary, warn, ensemble_fit, pop, surrogate_html,
                                                     config_summary or {}, manifest_paths, numbering, products, formation_png),
                                         encoding="utf-8")
    log.info("report: %d transitions, %d channel rows written to %s", len(sections), len(channels), out_dir)
    return channels
