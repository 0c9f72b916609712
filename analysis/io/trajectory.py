"""The in-memory record shared by every reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd


@dataclass
class Trajectory:
    """One surface-hopping trajectory, in hopscope units (Å, fs, eV, amu).

    Attributes
    ----------
    trajectory_id : str
        Stable identifier (the folder name, e.g. ``TRAJ12``).
    source_path : str
        Folder the trajectory was read from.
    format : str
        Reader that produced it (``newtonx``, ...).
    symbols : list of str
        Element symbols in file order.
    masses_amu : ndarray, shape (n_atoms,)
    time_fs : ndarray, shape (n_frames,)
    coords_angstrom : ndarray, shape (n_frames, n_atoms, 3)
    active_state : ndarray of int, shape (n_frames,)
        1-based active state **after** the hop decision at that time (Newton-X ``en.dat`` convention).
    energies_ev : ndarray, shape (n_frames, n_states)
        Absolute adiabatic energies, as printed by the program, converted to eV.
    total_energy_ev : ndarray, shape (n_frames,)
    populations : ndarray or None, shape (n_frames, n_states)
        Electronic populations where the program writes them (Newton-X wave function, SHARC |U c|²,
        NEXMD coefficients).
    potential_energy_ev : ndarray or None, shape (n_frames,)
        Energy of the surface the nuclei move on, as the program printed it (None: taken from
        ``energies_ev`` at the active state). Needed where per-state energies are not written
        (SHARC without ``output.dat``: ``energies_ev`` is then NaN).
    state_labels : list of str
        One label per state in the program's own numbering (``S0``, ``S1``, ``T1 (Ms=-1)``...).
    multiplicities : ndarray of int or None, shape (n_states,)
        Spin multiplicity of each state (SHARC keeps singlets and triplet sublevels in one list).
    extra : dict of str -> ndarray
        Format-specific per-frame arrays (e.g. SHARC's diagonal state ``diag_state``).
    flags : list of str
        Reader remarks such as ``truncated``.
    """

    trajectory_id: str
    source_path: str
    format: str
    symbols: list[str]
    masses_amu: np.ndarray
    time_fs: np.ndarray
    coords_angstrom: np.ndarray
    active_state: np.ndarray
    energies_ev: np.ndarray
    total_energy_ev: np.ndarray
    populations: np.ndarray | None = None
    potential_energy_ev: np.ndarray | None = None
    state_labels: list[str] = field(default_factory=list)
    multiplicities: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.potential_energy_ev is None:
            frames = np.arange(self.active_state.shape[0])
            self.potential_energy_ev = np.asarray(self.energies_ev)[frames, np.asarray(self.active_state) - 1]
        if not self.state_labels:
            self.state_labels = default_state_labels(self.energies_ev.shape[1])

    @property
    def n_frames(self) -> int:
        return int(self.time_fs.shape[0])

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def n_states(self) -> int:
        return int(self.energies_ev.shape[1])

    def head(self, n_frames: int) -> "Trajectory":
        """The first ``n_frames`` frames (every per-frame array cut, per-trajectory data kept): QC truncation."""
        if n_frames >= self.n_frames:
            return self
        cut = {name: getattr(self, name)[:n_frames] for name in
               ("time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev", "potential_energy_ev")}
        pops = None if self.populations is None else self.populations[:n_frames]
        extra = {k: (v[:n_frames] if np.ndim(v) and len(v) == self.n_frames else v) for k, v in self.extra.items()}
        return replace(self, **cut, populations=pops, extra=extra, flags=[*self.flags, f"qc_truncated_to={n_frames}"])

    @property
    def frame_labels(self) -> np.ndarray:
        """Spectroscopic name of the active state in every frame (:func:`frame_state_labels`)."""
        return frame_state_labels(self.active_state, self.state_labels, self.extra)

    @property
    def hops(self) -> pd.DataFrame:
        """Hops derived from changes of the active state: time_fs, frame, from_state, to_state.

        The hop time is the first frame whose (post-hop) active state differs from the previous one.
        """
        return hops_from_states(self.time_fs, self.active_state)


def default_state_labels(n_states: int) -> list[str]:
    """``S0, S1, ...``: state 1 is the ground state (Newton-X, PyRAI2MD, NEXMD numbering + 1)."""
    return [f"S{i}" for i in range(n_states)]


_MS_SUFFIX = re.compile(r"\s*\(Ms=[^)]*\)$")


def spectroscopic(label: str) -> str:
    """``T1 (Ms=-1)`` → ``T1``: a spin sublevel is not a different electronic state for the analysis."""
    return _MS_SUFFIX.sub("", str(label))


def frame_state_labels(active_state: np.ndarray, state_labels, extra: dict | None = None) -> np.ndarray:
    """Spectroscopic name of the active state in every frame.

    Newton-X, PyRAI2MD, NEXMD and plain-XYZ state k (1-based, as hopscope stores it) is S(k−1) (its
    ``state_labels``); SHARC's active (diagonal) state is named by the MCH state of that frame
    (``extra['mch_state']`` into ``extra['mch_labels']``, M_s dropped: ``T1``), or ``MCHk`` without ``nstates``.

    Returns
    -------
    ndarray of str, (n_frames,)
    """
    active_state = np.asarray(active_state, dtype=int)
    extra = extra or {}
    if "mch_state" in extra:
        mch = np.asarray(extra["mch_state"], dtype=int)
        if "mch_labels" in extra:
            names = np.array([spectroscopic(s) for s in extra["mch_labels"]] + ["?"])
            return names[np.clip(mch, 1, len(names)) - 1]
        return np.char.add("MCH", mch.astype(str))
    names = np.array([spectroscopic(s) for s in state_labels] + ["?"])
    return names[np.clip(active_state, 1, len(names)) - 1]


STOPPED_FLAG = "stopped_after_relaxation"  # a reader's flag: the run stopped itself once relaxed (complete, not crashed)


def stopped_after_relaxation(time_fs: np.ndarray, active_state: np.ndarray, kill_after_fs: float | None) -> bool:
    """Whether a run whose program stops it after ``kill_after_fs`` in the lowest state (SHARC ``killafter``) ended
    that way: in state 1 for at least that long (less 1.5 steps) at its last frame. False without the setting."""
    if not kill_after_fs or kill_after_fs <= 0 or not len(active_state) or int(active_state[-1]) != 1:
        return False
    time_fs = np.asarray(time_fs, float)
    elsewhere = np.flatnonzero(np.asarray(active_state) != 1)
    since = time_fs[elsewhere[-1] + 1] if len(elsewhere) else time_fs[0]
    step = float(np.median(np.diff(time_fs))) if len(time_fs) > 1 else 0.0
    return time_fs[-1] - since >= kill_after_fs - 1.5 * step


def hop_frames(active_state: np.ndarray) -> np.ndarray:
    """Indices of the frames whose (post-hop) active state differs from the previous frame's: the hops."""
    active_state = np.asarray(active_state)
    return np.flatnonzero(active_state[1:] != active_state[:-1]) + 1


def hops_from_states(time_fs: np.ndarray, active_state: np.ndarray) -> pd.DataFrame:
    """Table of hops from a post-hop active-state series.

    Parameters
    ----------
    time_fs : ndarray, shape (n_frames,)
    active_state : ndarray of int, shape (n_frames,)

    Returns
    -------
    DataFrame with columns time_fs, frame, from_state, to_state.
    """
    active_state = np.asarray(active_state)
    frames = hop_frames(active_state)
    return pd.DataFrame(
        {
            "time_fs": np.asarray(time_fs, dtype=float)[frames],
            "frame": frames.astype(int),
            "from_state": active_state[frames - 1].astype(int),
            "to_state": active_state[frames].astype(int),
        }
    )


def last_per_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``keys`` (times, steps) and the index of each one's last occurrence: a restarted run
    appends rows that repeat earlier times, and the last one written wins."""
    keys = np.asarray(keys)
    unique, index_reversed = np.unique(keys[::-1], return_index=True)
    return unique, len(keys) - 1 - index_reversed


def restart_survivors(time_fs: np.ndarray) -> np.ndarray:
    """Which frames of a series whose time goes back (a run restarted from a checkpoint and written on to the same
    file) survive: those earlier than every frame written after them. A restart at time T supersedes the frames
    at T and later written before it; the last one written wins, as :func:`last_per_key`, for any time step."""
    time_fs = np.asarray(time_fs, dtype=float)
    later_min = np.minimum.accumulate(time_fs[::-1])[::-1]  # the earliest time from each frame on
    return time_fs < np.r_[later_min[1:], np.inf]


def cut_at_the_end(common: np.ndarray, *keys: np.ndarray) -> bool:
    """Whether every key some series holds beyond the ``common`` ones (:func:`shared_rows`) lies after the last
    common key: the files of a run stopped mid-write end at different steps, and the run is cut, not inconsistent."""
    if not common.size:
        return False
    extra = np.concatenate([np.setdiff1d(np.asarray(k), common) for k in keys])
    return bool((extra > common.max()).all())


def shared_rows(*keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Align series of one trajectory (e.g. the files a reader combines) on the keys they all hold.

    Returns
    -------
    (the shared keys sorted, per series the row of each shared key (its last occurrence, see
    :func:`last_per_key`), the largest number of distinct keys of any one series).
    """
    pairs = [last_per_key(k) for k in keys]
    common = pairs[0][0]
    for unique, _ in pairs[1:]:
        common = np.intersect1d(common, unique)
    return common, [index[np.searchsorted(unique, common)] for unique, index in pairs], max(u.size for u, _ in pairs)
