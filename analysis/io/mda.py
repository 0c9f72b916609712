"""MDAnalysis interop: any hopscope trajectory as an in-memory MDAnalysis Universe."""

from __future__ import annotations

import warnings

import numpy as np

from analysis.io.trajectory import Trajectory


def to_universe(traj: Trajectory, guess_bonds: bool = True):
    """An MDAnalysis Universe holding ``traj``'s frames in memory.

    Atoms carry ``elements``, ``types``, ``names`` (``C1``, ``N3``: element + 1-based index) and
    ``masses`` (amu); bonds are guessed from van der Waals radii on the first frame (MDAnalysis'
    ``DefaultGuesser``). Time per frame is ``traj.time_fs`` converted to MDAnalysis' ps.

    Parameters
    ----------
    traj : Trajectory
    guess_bonds : bool
        Guess bonds (``universe.bonds``) from the first frame.

    Returns
    -------
    MDAnalysis.Universe
    """
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    n_atoms = traj.n_atoms
    universe = mda.Universe.empty(n_atoms, trajectory=True)
    universe.add_TopologyAttr("elements", list(traj.symbols))
    universe.add_TopologyAttr("types", list(traj.symbols))
    universe.add_TopologyAttr("names", [f"{s}{i + 1}" for i, s in enumerate(traj.symbols)])
    universe.add_TopologyAttr("masses", np.asarray(traj.masses_amu, dtype=float))
    dt_ps = float(np.median(np.diff(traj.time_fs))) / 1000.0 if traj.n_frames > 1 else 1.0
    universe.load_new(np.asarray(traj.coords_angstrom, dtype=np.float32), format=MemoryReader, dt=dt_ps)
    if guess_bonds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            universe.guess_TopologyAttrs(to_guess=["bonds"])
    return universe
