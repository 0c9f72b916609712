"""The surrogate's data: frames of ok trajectories with their per-state energies, read from the batch stores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.io.store import Store
from analysis.io.trajectory import hop_frames


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

    def __len__(self):
        return len(self.time_fs)

    def take(self, index) -> FrameSet:
        """The frames at ``index`` (an integer array or boolean mask)."""
        return FrameSet(self.coords_angstrom[index], self.energies_ev[index], self.trajectory_id[index], self.time_fs[index],
                        self.time_to_hop_fs[index], self.symbols, self.state_names)


def state_names(labels, n_states: int) -> list[str]:
    """The store's spectroscopic labels when they name every state once, else S0, S1, ..."""
    labels = list(labels or [])
    if len(labels) == n_states and len(set(labels)) == n_states:
        return labels
    return [f"S{k}" for k in range(n_states)]


def collect_frames(store_paths, ok_ids, frame_stride: int = 1, max_frames: int = 20000, seed: int = 0) -> FrameSet:
    """Frames of the ok trajectories whose every state energy is finite.

    Parameters
    ----------
    store_paths : batch stores (``results/ingest/batches/*.npz``)
    ok_ids : set of trajectory ids, or ``{id: n_frames_used}`` (only those first frames are used)
    frame_stride : keep every ``frame_stride``-th frame
    max_frames : above this, a seeded uniform subsample of this size (sorted, so reproducible)
    seed : the subsample's seed

    Raises
    ------
    SurrogateSkipped
        when no ok trajectory has per-state energies (SHARC without ``output.dat``, XYZ without energies),
        or the trajectories differ in their atoms or number of states.
    """
    parts, symbols, labels = [], None, None
    for path in sorted(map(str, store_paths)):
        with Store(path) as store:
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
                if symbols is None:
                    symbols, labels = list(meta["symbols"]), meta.get("state_labels", [])
                elif list(meta["symbols"]) != symbols or energies.shape[1] != parts[0][1].shape[1]:
                    raise SurrogateSkipped(f"trajectory {tid} differs from {parts[0][2][0]} in its atoms or number of states "
                                           "(one surrogate needs one molecule and one set of states)")
                coords = store.array(tid, "coords_angstrom")[:n_used]
                parts.append((coords[keep], energies[keep], np.full(keep.sum(), tid, dtype=object), time_fs[keep],
                              time_fs[keep] - t_hop))
    if not parts:
        raise SurrogateSkipped("no ok trajectory with per-state energies to train on")
    frames = FrameSet(*(np.concatenate(col) for col in zip(*parts)), symbols=symbols,
                      state_names=state_names(labels, parts[0][1].shape[1]))
    if len(frames) > max_frames:
        frames = frames.take(np.sort(np.random.default_rng(seed).choice(len(frames), max_frames, replace=False)))
    return frames
