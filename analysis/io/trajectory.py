"""The in-memory record shared by every reader."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    flags: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.time_fs.shape[0])

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def n_states(self) -> int:
        return int(self.energies_ev.shape[1])

    @property
    def hops(self) -> pd.DataFrame:
        """Hops derived from changes of the active state: time_fs, frame, from_state, to_state.

        The hop time is the first frame whose (post-hop) active state differs from the previous one.
        """
        return hops_from_states(self.time_fs, self.active_state)


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
    frames = np.flatnonzero(active_state[1:] != active_state[:-1]) + 1
    return pd.DataFrame(
        {
            "time_fs": np.asarray(time_fs, dtype=float)[frames],
            "frame": frames.astype(int),
            "from_state": active_state[frames - 1].astype(int),
            "to_state": active_state[frames].astype(int),
        }
    )
