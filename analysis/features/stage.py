"""The features stage: topology of the ensemble, features at the event and along time, per batch."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import symmetry
from analysis.atoms import analysed_atoms
from analysis.events import event_rows
from analysis.features.internal import featurize
from analysis.io.paths import natural_key, natural_rank
from analysis.io.store import Store, usable_frames
from analysis.io.trajectory import frame_state_labels
from analysis.topology import Topology, consensus_bonds, perceive_bonds, perceive_topology

log = logging.getLogger(__name__)

EVENT_WINDOW_FS = 10.0  # an event's geometry is its mean over this many fs centred on it (config features.event_window_fs)
# ... and its symmetry relabelling is chosen on its mean over at least this many fs: the choice only asks which atoms
# move, and under thermal noise a short window lets the noise choose (a planted benzene at 1.5-2x noise, 8 runs: ARI
# 0.01-0.97, mean 0.45, with 10 fs; 0.40-0.97, mean 0.65, with 30 fs, as with no relabelling at all; 50 fs: 0.63)
SYMMETRY_WINDOW_FS = 30.0
LARGE_SYSTEM_ATOMS = 60  # more analysed atoms than this: a warning that a QM/MM run wants features.atoms
BOND_VOTE_FRAMES = 25  # first frames whose majority decides the bonds (one noisy frame can lose a ring bond)


def read_reference_xyz(path) -> tuple[list[str], np.ndarray]:
    """Symbols and coordinates (Å) of the first frame of an XYZ file (errors name the file and line)."""
    from analysis.io.text import read_xyz_frames

    frames = read_xyz_frames(path, allow_partial_last=False)
    return list(frames["symbols"]), np.asarray(frames["coords_angstrom"][0], dtype=float)


def ok_in_natural_order(store_paths, ok) -> list[tuple[str, str]]:
    """(trajectory id, store path) of every ``ok`` trajectory, in natural order of the ids. Batches are hash-assigned:
    'the first trajectory' in store order changed with the number of batches, and with it the reference geometry
    and the motion names (a pyrazine run named a channel 'C4-N2-C6 opening' in 1 batch, 'C4-C3-H7 / C6-C5-H9
    opening' in 3)."""
    found = []
    for path in store_paths:
        with Store(path) as store:
            found += [(tid, str(path)) for tid in store.ids if tid in ok]
    return sorted(found, key=lambda item: natural_key(item[0]))


def initial_frames(store_paths, ok, max_trajectories: int = 200) -> list[np.ndarray]:
    """The first frames (Å) of the first ``max_trajectories`` ok trajectories in natural order, all with the first
    one's atoms (a member with other atoms is QC's to report)."""
    wanted = ok_in_natural_order(store_paths, ok)[:max_trajectories]
    frame0 = {}
    for path in sorted({path for _, path in wanted}):  # each store opened once
        with Store(path) as store:
            frame0.update((tid, store.rows(tid, "coords_angstrom", 0)) for tid, p in wanted if p == path)
    first = [frame0[tid] for tid, _ in wanted]
    return [x for x in first if x.shape == first[0].shape] if first else first


def mean_initial_geometry(store_paths, ok, max_trajectories: int = 200) -> np.ndarray | None:
    """Mean of the first frames of up to ``max_trajectories`` ok trajectories, each rotated onto the first (Å)."""
    return _aligned_mean(initial_frames(store_paths, ok, max_trajectories))


def _aligned_mean(first: list[np.ndarray]) -> np.ndarray | None:
    """Mean of the geometries ``first``, each rotated onto the first (Å); None without any."""
    if not first:
        return None
    aligned, _ = symmetry.kabsch_rmsd(np.array(first), first[0])
    return aligned.mean(axis=0)


def add_symmetries(top: Topology, reference: np.ndarray, tolerance: float) -> Topology:
    """Fill ``top.symmetries`` with the automorphisms that are symmetries of ``reference`` (see :mod:`analysis.symmetry`)."""
    if reference is None or np.shape(reference) != (len(top.symbols), 3):
        return top
    perms = symmetry.candidate_permutations(top.symbols, top.bonds, reference)
    found = symmetry.geometric_symmetries(reference, perms, tolerance)
    top.symmetries = [[list(p), bool(improper)] for p, improper in found]
    top.symmetry_reference_angstrom = np.asarray(reference).round(6).tolist()
    log.info("symmetry: %d candidate permutations, %d of them symmetries of the mean initial geometry (tolerance %.2f Å)%s",
             len(perms), len(found), tolerance,
             "".join(f"; {' '.join(top.names[i] for i in p)}{' (mirror)' if imp else ''}" for p, imp in found[1:4]))
    return top


def build_topology(store_paths, trajectories_parquet, out_json, atom_names=None, bond_scale: float = 1.2,
                   bond_guesser: str = "mdanalysis", reference_xyz: str | None = None, symmetry_merge: bool = True,
                   symmetry_tolerance_angstrom: float = symmetry.TOLERANCE_ANGSTROM, atoms="all") -> Topology:
    """Perceive the topology from ``reference_xyz`` (a user-given geometry, Å) or else from the first frames of the
    ok trajectories: the bonds found in more than half of up to :data:`BOND_VOTE_FRAMES` of them
    (:func:`analysis.topology.consensus_bonds`), names and reference geometry from the first one (natural order). A
    reference must list the ensemble's atoms in the same order.
    ``atoms`` (``features.atoms``: 'all', 'auto' or a 1-based list, :func:`analysis.atoms.analysed_atoms`) picks
    the analysed atoms; the topology is theirs, and records them (``Topology.atoms``) for every job that reads
    coordinates. With ``symmetry_merge`` the symmetry-equivalent relabellings of the atoms are stored with it."""
    ok = usable_frames(trajectories_parquet)
    ordered = ok_in_natural_order(store_paths, ok)
    if not ordered:
        log.warning("no trajectory passed ingest and QC: no topology (see results/qc/qc.csv)")
        empty = Topology(symbols=[], names=[], bonds=[], rings=[])
        empty.to_json(out_json)
        return empty
    tid, path = ordered[0]  # the first in natural order, however the ensemble was batched
    with Store(path) as store:
        symbols, xyz = store.meta[tid]["symbols"], store.rows(tid, "coords_angstrom", 0)
    source = f"{tid} frame 0"
    if reference_xyz:
        ref_symbols, xyz = read_reference_xyz(reference_xyz)
        if ref_symbols != list(symbols):
            raise ValueError(f"features.reference_xyz {reference_xyz}: atoms {ref_symbols} differ from the "
                             f"ensemble's {list(symbols)} (same atoms in the same order expected)")
        source = str(reference_xyz)
    first = initial_frames(store_paths, ok)  # read once: the bond vote and the symmetry reference
    votes = first[:BOND_VOTE_FRAMES]  # frame 0 of this trajectory first; all with its atoms
    bonds = (consensus_bonds(symbols, votes, bond_scale, method=bond_guesser)
             if not reference_xyz and len(votes) > 1 else
             perceive_bonds(symbols, xyz, bond_scale, method=bond_guesser))  # not one frame's thermal noise
    kept, why = analysed_atoms(atoms, list(symbols), bonds)
    whole = len(kept) == len(symbols)
    if not whole:
        index = {a: i for i, a in enumerate(kept)}
        bonds = [(index[a], index[b]) for a, b in bonds if a in index and b in index]
        first = [np.asarray(f)[kept] for f in first]
        if isinstance(atom_names, (list, tuple)) and len(atom_names) == len(symbols):
            atom_names = [atom_names[a] for a in kept]
    sub_symbols = [symbols[a] for a in kept]
    top = perceive_topology(sub_symbols, np.asarray(xyz)[kept], atom_names=atom_names, bond_scale=bond_scale,
                            bond_guesser=bond_guesser, bonds=bonds, atom_numbers=[a + 1 for a in kept])
    if not whole:
        top.atoms, top.system_symbols = [int(a) for a in kept], list(symbols)
    if symmetry_merge:
        add_symmetries(top, _aligned_mean(first), symmetry_tolerance_angstrom)
    top.to_json(out_json)
    log.info("topology from %s: %d bonds, rings %s; analysed: %s", source, len(top.bonds), top.rings, why)
    if len(kept) > LARGE_SYSTEM_ATOMS:
        log.warning("%d atoms analysed: features, channels and the surrogate grow with them (the surrogate's "
                    "descriptor as their square); for a QM/MM run give the QM region as features.atoms "
                    "(1-based, e.g. '1-16')", len(kept))
    return top


HEAD_COLUMNS = ["trajectory_id", "time_fs", "frame", "active_state", "state_label"]
EVENT_HEAD_COLUMNS = ["transition", "kind", "from_label", "to_label", "event", "symmetry"] + HEAD_COLUMNS


def window_mean_coords(rows, time_fs: np.ndarray, frames, half_width_fs: float) -> np.ndarray:
    """Each event's geometry averaged over the frames within ± ``half_width_fs`` of its time, every frame rotated
    onto the event frame first (Å): thermal vibration faster than the window averages out, the slower motion
    of a channel stays. ``rows(lo, hi)``: the coordinates of frames lo … hi−1; 0 fs: the event frames alone."""
    time_fs = np.asarray(time_fs, dtype=float)
    frames = np.asarray(frames, dtype=int)
    out = []
    for f in frames:  # one window per event (a few per trajectory)
        if half_width_fs <= 0:
            out.append(rows(f, f + 1)[0])
            continue
        lo, hi = np.searchsorted(time_fs, [time_fs[f] - half_width_fs - 1e-9, time_fs[f] + half_width_fs + 1e-9])
        window = np.asarray(rows(lo, hi), dtype=float)
        event = window[f - lo]
        aligned, _ = symmetry.kabsch_rmsd(window, event)
        out.append(aligned.mean(axis=0) + event.mean(axis=0))
    return np.array(out).reshape((len(frames),) + tuple(np.shape(rows(0, 1))[1:]))


def _symmetries(top: Topology) -> tuple[list, np.ndarray]:
    return [(tuple(p), bool(imp)) for p, imp in top.symmetries], top.initial_geometry_angstrom()


def canonical_coords(coords: np.ndarray, n_frames: int, top: Topology, choice=None) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of one trajectory's time-resolved frames (the first ``n_frames``) and events, each event
    relabelled to its canonical symmetry-equivalent form, the frames as its last event; and the events' choices.
    ``choice``: the events' relabellings (indices into ``top.symmetries``, e.g. from
    :func:`choose_event_symmetries`; −1 or missing: :func:`analysis.symmetry.canonical_choice` of that event)."""
    n_events = len(coords) - n_frames
    if len(top.symmetries) < 2 or not n_events:
        return coords, np.zeros(n_events, dtype=int)
    syms, ref = _symmetries(top)
    choice = np.full(n_events, -1) if choice is None else np.asarray(choice, dtype=int).copy()
    if (choice < 0).any():
        choice[choice < 0] = symmetry.canonical_choice(coords[n_frames:][choice < 0], ref, syms)
    events = symmetry.relabel(coords[n_frames:], syms, choice)
    frames = symmetry.apply(coords[:n_frames], *syms[choice[-1]]) if choice[-1] else coords[:n_frames]
    return np.concatenate([frames, events]), choice


def choose_event_symmetries(store_paths, trajectories_parquet, topology_json, out_csv, event: str = "transitions",
                            hop_select: str = "last", event_window_fs: float = EVENT_WINDOW_FS) -> pd.DataFrame:
    """The symmetry relabelling of every analysis event of the ensemble, chosen over all events at once
    (:func:`analysis.symmetry.coherent_choice`, per transition), written to ``out_csv`` (trajectory_id, frame,
    transition, symmetry). Events are found as :func:`featurize_batch` finds them (same ``event`` and
    ``hop_select``), on their geometries averaged over ``event_window_fs`` but at least :data:`SYMMETRY_WINDOW_FS`
    (:func:`window_mean_coords`); without symmetries the table is empty and every event keeps its labels."""
    top = Topology.from_json(topology_json)
    ok = usable_frames(trajectories_parquet)
    rows, coords = [], []
    if len(top.symmetries) > 1:
        for path in store_paths:
            with Store(path, top.selection()) as store:
                for tid in store.ids:
                    if tid not in ok or len(store.meta[tid]["symbols"]) != len(top.symbols):
                        continue
                    n, meta = ok[tid], store.meta[tid]
                    time_fs, state = store.array(tid, "time_fs")[:n], store.array(tid, "active_state")[:n]
                    extra = {k: store.array(tid, f"extra/{k}") for k in meta.get("extra", []) if k in ("mch_state", "mch_labels")}
                    if "mch_state" in extra:  # SHARC: frames are named by their MCH state
                        extra["mch_state"] = extra["mch_state"][:n]
                    labels = frame_state_labels(state, meta.get("state_labels", []), extra)
                    ev = event_rows(time_fs, state, labels, event, hop_select)
                    if len(ev["frame"]):
                        coords.append(window_mean_coords(lambda lo, hi: store.rows(tid, "coords_angstrom", slice(lo, hi)),
                                                         time_fs, ev["frame"], max(event_window_fs, SYMMETRY_WINDOW_FS) / 2.0))
                        rows.append(pd.DataFrame({"trajectory_id": tid, "frame": np.asarray(ev["frame"], dtype=int),
                                                  "transition": ev["transition"]}))
    # in natural order of the ids, whatever the batches: the choice is made over all events at once
    order = sorted(range(len(rows)), key=lambda k: natural_key(rows[k]["trajectory_id"].iloc[0]))
    rows, coords = [rows[k] for k in order], [coords[k] for k in order]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["trajectory_id", "frame", "transition"])
    if len(table):
        syms, ref = _symmetries(top)
        table["symmetry"] = symmetry.coherent_choice(np.concatenate(coords), ref, syms, table["transition"].to_numpy())
        relabelled = table[table["symmetry"] > 0]
        log.info("symmetry: %d of %d events relabelled to an equivalent form (%s)", len(relabelled), len(table),
                 ", ".join(f"{k}: {n}" for k, n in relabelled["symmetry"].value_counts().sort_index().items()) or "none")
    else:
        table["symmetry"] = pd.Series(dtype=int)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False)
    return table


def featurize_batch(store_path, trajectories_parquet, topology_json, events_out, frames_out,
                    families, event: str = "transitions", frame_stride: int = 10, hop_select: str = "last",
                    symmetry_csv=None, event_window_fs: float = EVENT_WINDOW_FS) -> None:
    """Features at every analysis event and at every ``frame_stride``-th frame of the ok trajectories (their
    first ``n_frames_used`` frames: QC may have truncated them).

    The time-resolved table starts with :data:`HEAD_COLUMNS` (``state_label``: spectroscopic name of the
    active state, e.g. ``S1``); the event table with :data:`EVENT_HEAD_COLUMNS`, one row per event
    (:func:`analysis.events.event_rows`; ``transition`` groups them, e.g. ``S1→S0``). Frame 0 is always
    among the time-resolved rows (the Franck–Condon reference for motions). ``symmetry_csv``: the events'
    symmetry relabellings from :func:`choose_event_symmetries` (an event missing there, or without the table,
    is relabelled on its own geometry). ``event_window_fs``: an event's features are those of its geometry
    averaged over this many fs centred on it (:func:`window_mean_coords`; 0: the event frame alone).
    """
    top = Topology.from_json(topology_json)
    ok = usable_frames(trajectories_parquet)
    chosen = {}
    if symmetry_csv is not None:
        table = pd.read_csv(symmetry_csv, dtype={"trajectory_id": str})
        chosen = dict(zip(zip(table["trajectory_id"], table["frame"].astype(int)), table["symmetry"].astype(int)))
    coords, heads, event_heads = [], [], []
    with Store(store_path, top.selection()) as store:
        for tid in store.ids:
            if tid not in ok or not top.symbols:
                continue
            t = store.trajectory(tid).head(ok[tid])
            if len(t.symbols) != len(top.symbols):
                log.warning("%s: %d atoms where the topology has %d: no features", tid, len(t.symbols), len(top.symbols))
                continue
            labels = t.frame_labels
            frames = np.arange(0, t.n_frames, max(int(frame_stride), 1))
            ev = event_rows(t.time_fs, t.active_state, labels, event, hop_select)
            sel = np.concatenate([frames, ev["frame"]])
            given = [chosen.get((tid, int(f)), -1) for f in ev["frame"]]
            event_xyz = window_mean_coords(lambda lo, hi: t.coords_angstrom[lo:hi], t.time_fs, ev["frame"], event_window_fs / 2.0)
            xyz, choice = canonical_coords(np.concatenate([t.coords_angstrom[frames], event_xyz]), len(frames), top, given)
            coords.append(xyz)
            heads.append({"trajectory_id": np.full(len(sel), tid, dtype=object), "time_fs": t.time_fs[sel], "frame": sel,
                          "active_state": t.active_state[sel], "state_label": labels[sel],
                          "is_event": np.arange(len(sel)) >= len(frames)})
            event_heads.append({"transition": ev["transition"], "kind": ev["kind"], "from_label": ev["from_label"],
                                "to_label": ev["to_label"], "event": np.full(len(choice), event, dtype=object),
                                "symmetry": choice})
    # one featurize call and one table per batch: per-trajectory DataFrames cost more than the features
    if coords:
        head = {k: np.concatenate([h[k] for h in heads]) for k in heads[0]}
        is_event = head.pop("is_event")
        table = pd.concat([pd.DataFrame(head), featurize(np.concatenate(coords), top, families)], axis=1)
        frames_df = table[~is_event].reset_index(drop=True)
        ev_head = pd.DataFrame({k: np.concatenate([h[k] for h in event_heads]) for k in event_heads[0]})
        events = pd.concat([ev_head, table[is_event].reset_index(drop=True)], axis=1)
    else:
        events, frames_df = pd.DataFrame(columns=EVENT_HEAD_COLUMNS), pd.DataFrame(columns=HEAD_COLUMNS)
    for df, out in ((events, events_out), (frames_df, frames_out)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(out, index=False)
    log.info("%s: %d events, %d time-resolved rows", store_path, len(events), len(frames_df))


def merge_tables(paths, out) -> pd.DataFrame:
    """Concatenate per-batch parquet tables (natural order of trajectory ids is kept)."""
    tables = [pd.read_parquet(p) for p in paths]
    tables = [t for t in tables if len(t)]
    df = pd.concat(tables, ignore_index=True) if tables else pd.read_parquet(paths[0])
    if len(df):  # batches are hash-assigned: restore natural trajectory order (stable within a trajectory)
        df = df.sort_values("trajectory_id", key=natural_rank, kind="stable").reset_index(drop=True)
    df.to_parquet(out, index=False)
    return df
