"""The surrogate's data: frames of ok trajectories with their per-state energies, read from the batch stores."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.io.store import Store
from analysis.io.trajectory import hop_frames

log = logging.getLogger(__name__)


class SurrogateSkipped(RuntimeError):
    """The ensemble gives nothing to train on (no ok trajectory with per-state energies, too few frames)."""


@dataclass
class FrameSet:
    """Frames pooled over trajectories (row k of every array is one frame).

    ``time_to_hop_fs`` is the frame's time minus its trajectory's first hop (negative before the hop,
    NaN in a trajectory that never hops).
    """

    coords_angstrom: np.ndarray  # (n, n_atoms, 3)
    energies_ev: np.ndarray  # (n, n_states), absolute
    trajectory_id: np.ndarray  # (n,) str
    time_fs: np.ndarray
    time_to_hop_fs: np.ndarray
    symbols: list[str]
    state_names: list[str]
    left_out: dict[str, str] = field(default_factory=dict)  # trajectory id → why its frames are not among these
    selection: object = None  # the analysed atoms of the system (analysis.atoms.AtomSelection) these coordinates are; None: all

    def __len__(self):
        return len(self.time_fs)

    def take(self, index) -> FrameSet:
        """The frames at ``index`` (an integer array or boolean mask)."""
        return FrameSet(self.coords_angstrom[index], self.energies_ev[index], self.trajectory_id[index], self.time_fs[index],
                        self.time_to_hop_fs[index], self.symbols, self.state_names, self.left_out, self.selection)


DESCRIPTOR_BUDGET_VALUES = 20_000_000  # frames x inverse distances the surrogate trains on, at most (160 MB of float64)
MIN_BUDGET_FRAMES = 1000  # fewer frames than this within the budget (above ~200 atoms): no surrogate


def within_descriptor_budget(n_atoms: int, max_frames: int) -> int:
    """``max_frames``, lowered so frames × inverse distances (n_atoms (n_atoms − 1) / 2 per frame) stays within
    :data:`DESCRIPTOR_BUDGET_VALUES` (a warning says so). The fits' time grows with that product: measured on 2
    cores, a 103-atom system (5,253 distances) with 9,640 frames took 420 s and 5.4 GB where its 13-atom molecule
    alone took 72 s; a QM/MM system analysed whole (913 atoms) had not finished in 10 minutes.

    Raises
    ------
    SurrogateSkipped
        when fewer than :data:`MIN_BUDGET_FRAMES` frames fit, naming the remedy (``features.atoms``)."""
    pairs = max(n_atoms * (n_atoms - 1) // 2, 1)
    fits = DESCRIPTOR_BUDGET_VALUES // pairs
    if fits >= max_frames:
        return max_frames
    if fits < MIN_BUDGET_FRAMES:
        raise SurrogateSkipped(f"{n_atoms} atoms give {pairs:,} inverse distances per frame: fewer than {MIN_BUDGET_FRAMES} "
                               f"frames fit in the surrogate's budget of {DESCRIPTOR_BUDGET_VALUES:,} values. Give the "
                               "molecule (a QM/MM run's QM region) as features.atoms, e.g. '1-16'")
    log.warning("surrogate: %d atoms give %s inverse distances per frame: %d frames (not %d) fit in its budget of %s values; "
                "a QM/MM run wants its QM region as features.atoms", n_atoms, f"{pairs:,}", fits, max_frames,
                f"{DESCRIPTOR_BUDGET_VALUES:,}")
    return int(fits)


def analysed_selection(topology_json):
    """The analysed atoms recorded with the features' topology (``Topology.selection()``); None without one or when
    every atom is analysed. Read from the JSON alone: the surrogate's jobs need not import the features."""
    if topology_json is None or not Path(topology_json).exists():
        return None
    from analysis.atoms import AtomSelection

    return AtomSelection.from_record(json.loads(Path(topology_json).read_text(encoding="utf-8")))


def state_names(labels, n_states: int) -> list[str]:
    """The store's spectroscopic labels when they name every state once, else S0, S1, ..."""
    labels = list(labels or [])
    if len(labels) == n_states and len(set(labels)) == n_states:
        return labels
    return [f"S{k}" for k in range(n_states)]


def collect_frames(store_paths, ok_ids, frame_stride: int = 1, max_frames: int = 20000, seed: int = 0, atoms=None) -> FrameSet:
    """Frames of the ok trajectories whose every state energy is finite.

    Parameters
    ----------
    store_paths : batch stores (``results/ingest/batches/*.npz``)
    ok_ids : set of trajectory ids, or ``{id: n_frames_used}`` (only those first frames are used)
    frame_stride : keep every ``frame_stride``-th frame
    max_frames : above this, a seeded uniform subsample of this size (sorted, so reproducible)
    seed : the subsample's seed
    atoms : the analysed atoms (:class:`analysis.atoms.AtomSelection`, ``Topology.selection()``); None: all

    Raises
    ------
    SurrogateSkipped
        when no ok trajectory has per-state energies (SHARC without ``output.dat``, XYZ without energies).

    Trajectories whose atoms or number of states differ from most others' (one surrogate is one molecule and one
    set of states) are left out, named in ``left_out``.
    """
    # pass 1: energies, times and hops (small) decide which frames are kept; pass 2 reads coordinates only for
    # the frames of the subsample, so memory stays bounded by max_frames however large the ensemble
    parts, symbols, labels, left_out = _candidate_frames(store_paths, ok_ids, frame_stride, atoms)
    if not parts:
        if not ok_ids:
            raise SurrogateSkipped("no ok trajectory to train on")
        raise SurrogateSkipped(f"none of the {len(ok_ids)} analysed trajectories has per-state energies to train on (SHARC "
                               "writes them to output.dat only; an XYZ ensemble gives them in its CSV, columns e1_ev, e2_ev …)")
    total = sum(len(p["rows"]) for p in parts)
    max_frames = within_descriptor_budget(len(symbols), max_frames)
    chosen = np.sort(np.random.default_rng(seed).choice(total, max_frames, replace=False)) if total > max_frames else np.arange(total)
    columns = _chosen_frames(parts, chosen, atoms)
    return FrameSet(*(np.concatenate(columns[c]) for c in ("coords", "energies", "tid", "time_fs", "time_to_hop_fs")),
                    symbols=symbols, state_names=state_names(labels, parts[0]["energies"].shape[1]), left_out=left_out,
                    selection=atoms if atoms is not None and atoms.symbols() == symbols else None)


def _candidate_frames(store_paths, ok_ids, frame_stride: int, atoms=None):
    """Pass 1 of :func:`collect_frames`: per ok trajectory with energies, the rows kept (stride, finite energies)
    with their energies, times and time to the first hop; the molecule's symbols and state labels (those of most
    trajectories); and the trajectories left out (id → reason) because theirs differ."""
    parts, labels_of = [], {}
    for path in sorted(map(str, store_paths)):
        with Store(path, atoms) as store:
            for tid in store.ids:
                if tid not in ok_ids:
                    continue
                n_used = ok_ids[tid] if isinstance(ok_ids, dict) else None
                energies = store.array(tid, "energies_ev")[:n_used]
                if energies.ndim != 2 or not energies.size:
                    continue
                time_fs = store.array(tid, "time_fs")[:n_used]
                hops = hop_frames(store.array(tid, "active_state")[:n_used])
                t_hop = time_fs[hops[0]] if len(hops) else np.nan
                keep = np.zeros(len(energies), bool)
                keep[:: max(1, int(frame_stride))] = True
                keep &= np.isfinite(energies).all(axis=1)
                if not keep.any():
                    continue
                meta = store.meta[tid]
                key = (tuple(meta["symbols"]), energies.shape[1])
                labels_of.setdefault(key, meta.get("state_labels", []))
                rows = np.flatnonzero(keep)
                parts.append({"path": path, "tid": tid, "rows": rows, "energies": energies[rows], "time_fs": time_fs[rows],
                              "time_to_hop_fs": time_fs[rows] - t_hop, "key": key})
    if not parts:
        return parts, None, None, {}
    counts = Counter(p["key"] for p in parts)
    majority = max(counts, key=lambda k: (counts[k], -list(labels_of).index(k)))  # ties: the first seen
    from analysis.io.paths import natural_key

    natural = sorted(parts, key=lambda p: natural_key(p["tid"]))
    left_out = {p["tid"]: (f"{p['key'][1]} states where the other {counts[majority]} trajectories have {majority[1]}"
                           if p["key"][0] == majority[0] else f"its atoms differ from the other {counts[majority]} trajectories'")
                for p in natural if p["key"] != majority}  # in natural order of the ids
    other = _other_energy_reference([p for p in natural if p["key"] == majority])
    left_out.update((p["tid"], other[p["tid"]]) for p in natural if p["tid"] in other)  # in natural order too
    if left_out:
        log.warning("surrogate: %d trajectory(ies) left out (one surrogate is one molecule, one set of states and one energy "
                    "reference): %s", len(left_out),
                    "; ".join(f"{tid}: {why}" for tid, why in left_out.items()))
    # natural order of the ids (parts came in store order; batches are hash-assigned): the frames, the reference
    # geometry (the first frame) and the MLP's minibatches are then the same however the ensemble was batched
    return [p for p in natural if p["tid"] not in left_out], list(majority[0]), labels_of[majority], left_out


def _other_energy_reference(parts) -> dict[str, str]:
    """Trajectory id → why, for the trajectories outside the largest group of first-frame lowest-state energies
    (:func:`analysis.qc.energy_reference_groups`: groups more than 3 eV apart are other methods or references;
    one surrogate fitted across them learns the offset, not the molecule)."""
    from analysis.qc import ENERGY_GROUP_GAP_EV, energy_reference_groups

    first = {p["tid"]: float(np.min(p["energies"][0])) for p in parts}
    groups = energy_reference_groups(list(first), list(first.values()))
    if len(groups) < 2:
        return {}
    largest = max(groups, key=len)  # ties: the lowest energies
    lo, hi = min(first[tid] for tid in largest), max(first[tid] for tid in largest)
    return {tid: (f"its first frame's lowest energy lies more than {ENERGY_GROUP_GAP_EV:g} eV from the other "
                  f"{len(largest)} trajectories' ({lo:.2f} to {hi:.2f} eV): another method or energy reference")
            for group in groups if group is not largest for tid in group}


def _chosen_frames(parts, chosen, atoms=None) -> dict:
    """Pass 2 of :func:`collect_frames`: coordinates (read now, store by store) and the rest of the ``chosen``
    frames (indices into the concatenation of ``parts``), as lists of arrays per column."""
    offsets = np.cumsum([0] + [len(p["rows"]) for p in parts])
    local = [chosen[(chosen >= offsets[k]) & (chosen < offsets[k + 1])] - offsets[k] for k in range(len(parts))]
    coords = {}
    for path in sorted({p["path"] for p in parts}):  # each store opened once
        with Store(path, atoms) as store:
            for k, p in enumerate(parts):
                if p["path"] == path and len(local[k]):
                    coords[k] = store.rows(p["tid"], "coords_angstrom", p["rows"][local[k]])
    columns = {"coords": [], "energies": [], "tid": [], "time_fs": [], "time_to_hop_fs": []}
    for k, p in enumerate(parts):  # in the parts' (natural) order
        if k not in coords:
            continue
        columns["coords"].append(coords[k])
        columns["energies"].append(p["energies"][local[k]])
        columns["tid"].append(np.full(len(local[k]), p["tid"], dtype=object))
        columns["time_fs"].append(p["time_fs"][local[k]])
        columns["time_to_hop_fs"].append(p["time_to_hop_fs"][local[k]])
    return columns
