"""Geometries behind a transition's channels: event geometries (in their canonical symmetry form), each channel's
medoid, the atoms that move, the energy gap at the event, and XYZ files of the medoid and of its trajectory
around the event, for any molecule viewer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import symmetry
from analysis.channel_size import UNRESOLVED
from analysis.features.internal import featurize
from analysis.io.store import Store
from analysis.io.text import format_xyz
from analysis.motions import Motion, event_motions
from analysis.report.drawing import moving_atoms, superpose
from analysis.topology import Topology

WINDOW_FS = 50.0   # the medoid trajectory is written from this long before the event to this long after it


@dataclass
class EventGeometries:
    """Every event of one transition: ``table`` (trajectory_id, frame, channel, symmetry, gap_ev, time_fs) and
    ``coords_angstrom`` (n_events, n_atoms, 3), relabelled to the canonical symmetry form and superposed on the
    Franck–Condon geometry ``fc_angstrom``; ``gap_name`` says which gap ('S1–S0')."""

    table: pd.DataFrame
    coords_angstrom: np.ndarray
    fc_angstrom: np.ndarray
    gap_name: str


def _relabel(coords: np.ndarray, choice: int, topology: Topology) -> np.ndarray:
    if choice and choice < len(topology.symmetries):
        perm, improper = topology.symmetries[choice]
        return symmetry.apply(coords, perm, bool(improper))
    return coords


def event_geometries(events: pd.DataFrame, assignments: pd.DataFrame, store_paths, topology: Topology) -> EventGeometries:
    """Read the geometry and the gap between the two states of the transition at every event (one pass over the
    stores; each trajectory's arrays are read once)."""
    key = ["trajectory_id", "frame"]
    cols = key + [c for c in ("symmetry", "from_label", "to_label") if c in events]
    table = assignments[key + ["channel", "event_time_fs"]].merge(events[cols], on=key, how="left").reset_index(drop=True)
    if "symmetry" not in table:
        table["symmetry"] = 0
    table["symmetry"] = table["symmetry"].fillna(0).astype(int)
    fc = topology.initial_geometry_angstrom()  # the Franck–Condon geometry
    coords = np.full((len(table), len(topology.symbols), 3), np.nan)
    gaps = np.full(len(table), np.nan)
    rows_of = table.groupby("trajectory_id").indices
    has_labels = "from_label" in table and "to_label" in table
    frame_of, symmetry_of = table["frame"].to_numpy(int), table["symmetry"].to_numpy(int)
    upper_of = table["from_label"].to_numpy(object) if has_labels else np.full(len(table), None)
    lower_of = table["to_label"].to_numpy(object) if has_labels else np.full(len(table), None)
    for path in store_paths:
        with Store(path, topology.selection()) as store:
            for tid in sorted(set(store.ids) & set(rows_of)):
                rows = rows_of[tid]
                xyz = store.rows(tid, "coords_angstrom", frame_of[rows])
                energies = store.rows(tid, "energies_ev", frame_of[rows])
                labels = list(store.meta[tid]["state_labels"])
                for k, r in enumerate(rows):
                    coords[r] = _relabel(xyz[k], int(symmetry_of[r]), topology)
                    upper, lower = upper_of[r], lower_of[r]
                    if upper in labels and lower in labels:
                        gaps[r] = energies[k, labels.index(upper)] - energies[k, labels.index(lower)]
    table["gap_ev"] = gaps
    found = np.isfinite(coords).all(axis=(1, 2))
    aligned = coords.copy()
    if found.any():
        aligned[found] = superpose(coords[found], fc)
    first = table.iloc[0] if len(table) else None
    gap_name = f"{first['from_label']}–{first['to_label']}" if first is not None and has_labels else "gap"
    return EventGeometries(table, aligned, fc, gap_name)


MOTION_FAMILIES = ("bonds", "angles", "dihedrals", "pucker", "oop", "pyramidalization", "contacts")


def own_label_coords(geoms: EventGeometries, topology: Topology) -> np.ndarray:
    """The event geometries of ``geoms`` back in each trajectory's own atom labels (the canonical symmetry
    relabelling undone; still superposed on the FC geometry)."""
    coords = geoms.coords_angstrom.copy()
    choice = geoms.table["symmetry"].to_numpy(int)
    for k in np.unique(choice):
        if k and k < len(topology.symmetries):
            perm, improper = topology.symmetries[k]
            coords[choice == k] = symmetry.restore(coords[choice == k], perm, bool(improper))
    return coords


def own_label_reference(geoms: EventGeometries, reference: pd.DataFrame, topology: Topology) -> pd.DataFrame:
    """The FC features that events in their own atom labels are compared with: ``reference`` (the ensemble's first
    frames, each relabelled as its trajectory's last event) when the molecule has no symmetry relabelling, else the
    features of the FC geometry itself (``geoms.fc_angstrom``, the mean first frame in the trajectories' own labels).

    Relabelled first frames mixed labels: NEXMD benzene, one trajectory whose event at 0.5 fs (0.013 Å from its first
    frame) was relabelled by a rotation, was said to move "H8 out-of-plane [+] +19 °", the difference between two
    hydrogens' thermal out-of-plane angles at t = 0. With many trajectories the relabelled frames average out to the
    symmetric FC geometry and the two agree."""
    if len(topology.symmetries) < 2 or np.shape(geoms.fc_angstrom) != (len(topology.symbols), 3):
        return reference
    return featurize(np.asarray(geoms.fc_angstrom, dtype=float)[None], topology, families=MOTION_FAMILIES)


def event_motion_list(geoms: EventGeometries, reference: pd.DataFrame, topology: Topology, n: int = 2) -> list[list[Motion]]:
    """Per event of ``geoms`` (in table order): its ``n`` largest motions from the FC frames ``reference``
    (:func:`own_label_reference`), named in the trajectory's own atom labels (empty where its geometry could not be
    read)."""
    coords = own_label_coords(geoms, topology)
    found = np.isfinite(coords).all(axis=(1, 2))
    out: list[list[Motion]] = [[] for _ in range(len(coords))]
    if found.any():
        motions = event_motions(featurize(coords[found], topology, families=MOTION_FAMILIES),
                                own_label_reference(geoms, reference, topology), topology, n)
        for row, m in zip(np.flatnonzero(found), motions):
            out[row] = m
    return out


def medoid_index(points: np.ndarray) -> int:
    """Row of ``points`` (n, d) with the smallest summed distance to all others."""
    points = np.asarray(points, float)
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    return int(np.argmin(d.sum(1)))


@dataclass
class ChannelStructure:
    """The medoid of one channel (in PCA space), its aligned geometry, the atoms that move (from the channel's
    mean displacement from the FC geometry) and the gaps at its events."""

    channel: str
    trajectory_id: str
    frame: int
    symmetry: int
    coords_angstrom: np.ndarray
    mean_displacement_angstrom: np.ndarray
    moving: list
    gap_ev: np.ndarray


def channel_structures(geoms: EventGeometries, scores: pd.DataFrame) -> dict[str, ChannelStructure]:
    """One :class:`ChannelStructure` per resolved channel with at least one readable geometry."""
    key = ["trajectory_id", "frame"]
    pcs = [c for c in scores.columns if c.startswith("PC") and scores[c].notna().any()]
    table = geoms.table.merge(scores[key + pcs], on=key, how="left")
    ok = np.isfinite(geoms.coords_angstrom).all(axis=(1, 2))
    out = {}
    for channel, rows in table.groupby("channel", sort=True).indices.items():
        rows = rows[ok[rows]]
        if channel == UNRESOLVED or not len(rows):
            continue
        x = table.loc[rows, pcs].to_numpy(float) if pcs else np.zeros((len(rows), 1))
        x = np.nan_to_num(x)
        m = rows[medoid_index(x)]
        disp = np.linalg.norm(geoms.coords_angstrom[rows].mean(0) - geoms.fc_angstrom, axis=1)
        out[channel] = ChannelStructure(channel, str(table.at[m, "trajectory_id"]), int(table.at[m, "frame"]),
                                        int(table.at[m, "symmetry"]), geoms.coords_angstrom[m], disp, moving_atoms(disp),
                                        table.loc[rows, "gap_ev"].to_numpy(float))
    return out


def write_channel_files(structures: dict[str, ChannelStructure], store_paths, topology: Topology, out_dir: Path,
                        stem: str, window_fs: float = WINDOW_FS, used_frames: dict[str, int] | None = None) -> dict[str, dict[str, str]]:
    """Per channel ``{stem}_{channel}.xyz`` (the medoid at its event) and ``{stem}_{channel}_trajectory.xyz``
    (its trajectory from ``window_fs`` before to ``window_fs`` after the event, every frame, relabelled and
    superposed like the medoid), within the trajectory's ``used_frames`` (:func:`analysis.io.store.usable_frames`:
    QC may have cut it, e.g. where it blew up). Returns channel → {"medoid": file name, "trajectory": file name}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {s.trajectory_id: [] for s in structures.values()}
    for s in structures.values():
        wanted[s.trajectory_id].append(s)
    fc = topology.initial_geometry_angstrom()  # the Franck–Condon geometry
    files: dict[str, dict[str, str]] = {}
    for path in store_paths:
        with Store(path, topology.selection()) as store:
            for tid in sorted(set(store.ids) & set(wanted)):
                time_fs = store.array(tid, "time_fs")[:(used_frames or {}).get(tid)]
                for s in wanted[tid]:
                    t_event = time_fs[s.frame]
                    medoid = f"{stem}_{s.channel}.xyz"
                    (out_dir / medoid).write_text(format_xyz(
                        s.coords_angstrom, topology.symbols,
                        [f"{stem} channel {s.channel} medoid: {tid} frame {s.frame} t={t_event:.2f} fs (Angstrom, "
                         "superposed on the Franck-Condon geometry)"]), encoding="utf-8")
                    sel = np.flatnonzero(np.abs(time_fs - t_event) <= window_fs)
                    xyz = store.rows(tid, "coords_angstrom", sel)
                    window = superpose(_relabel(xyz, s.symmetry, topology), fc, n_iter=15, max_starts=3)
                    traj = f"{stem}_{s.channel}_trajectory.xyz"
                    (out_dir / traj).write_text(format_xyz(
                        window, topology.symbols,
                        [f"{tid} frame {f} t={time_fs[f]:.2f} fs (event at {t_event:.2f} fs; Angstrom)" for f in sel]),
                        encoding="utf-8")
                    files[s.channel] = {"medoid": medoid, "trajectory": traj}
    return dict(sorted(files.items()))
