"""Feature table from a trajectory and its topology: names say what and where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.features.geometry import angles, cremer_pople, dihedrals, distances, out_of_plane
from analysis.topology import Topology

DEFAULT_FAMILIES = ("bonds", "angles", "dihedrals", "pucker", "oop")

# Natural size of a "clearly visible" change per family, used to rank motions (see analysis.motions).
FAMILY_SCALE = {"bond": 0.1, "angle": 10.0, "dihedral_sin": 1.0, "dihedral_cos": 1.0, "pucker_z": 0.1, "oop": 10.0}


def featurize(coords_angstrom: np.ndarray, topology: Topology, families=DEFAULT_FAMILIES) -> pd.DataFrame:
    """Features for every frame at once.

    Parameters
    ----------
    coords_angstrom : ndarray (n_frames, n_atoms, 3)
    topology : Topology
    families : iterable of {'bonds', 'angles', 'dihedrals', 'pucker', 'oop'}

    Returns
    -------
    DataFrame (n_frames, n_features). Columns: ``bond[C1-N6]`` (Å), ``angle[C1-N6-C5]`` (deg),
    ``dihedral_sin[...]``/``dihedral_cos[...]``, ``pucker_Q[ring1]`` (Å), ``pucker_theta[ring1]``,
    ``pucker_phi[ring1]`` (deg), ``pucker_z[C6:ring1]`` (Å), ``oop[N8:ring1]`` (deg, signed).
    """
    coords = np.asarray(coords_angstrom, dtype=float)
    if coords.ndim == 2:
        coords = coords[None]
    names = topology.names
    cols: dict[str, np.ndarray] = {}
    families = set(families)
    unknown = families - set(DEFAULT_FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}; known: {list(DEFAULT_FAMILIES)}")
    if "bonds" in families and topology.bonds:
        b = np.array(topology.bonds)
        vals = distances(coords, b)
        for k, (i, j) in enumerate(b):
            cols[f"bond[{names[i]}-{names[j]}]"] = vals[:, k]
    if "angles" in families:
        t = np.array(topology.angles()).reshape(-1, 3)
        if len(t):
            vals = angles(coords, t)
            for k, (i, j, m) in enumerate(t):
                cols[f"angle[{names[i]}-{names[j]}-{names[m]}]"] = vals[:, k]
    if "dihedrals" in families:
        q = np.array(topology.dihedrals()).reshape(-1, 4)
        if len(q):
            rad = np.radians(dihedrals(coords, q))
            sin, cos = np.sin(rad), np.cos(rad)
            for k, quad in enumerate(q):
                label = "-".join(names[i] for i in quad)
                cols[f"dihedral_sin[{label}]"] = sin[:, k]
                cols[f"dihedral_cos[{label}]"] = cos[:, k]
    if "pucker" in families:
        for r, ring in enumerate(topology.rings, start=1):
            if len(ring) not in (5, 6):
                continue
            cp = cremer_pople(coords, ring)
            cols[f"pucker_Q[ring{r}]"] = cp["Q"]
            if len(ring) == 6:
                cols[f"pucker_theta[ring{r}]"] = cp["theta"]
            cols[f"pucker_phi[ring{r}]"] = cp["phi"]
            for k, atom in enumerate(ring):
                cols[f"pucker_z[{names[atom]}:ring{r}]"] = cp["z"][:, k]
    if "oop" in families:
        for r, anchor, atom in topology.substituents():
            ring = topology.rings[r]
            cols[f"oop[{names[atom]}:ring{r + 1}]"] = out_of_plane(coords, ring, anchor, atom)
    return pd.DataFrame(cols)


def feature_family(column: str) -> str:
    """'bond[C1-N6]' -> 'bond'."""
    return column.split("[", 1)[0]


def clustering_columns(columns) -> list[str]:
    """Columns fit for PCA/clustering: drop periodic or ill-defined descriptors (θ, φ, Q is kept)."""
    return [c for c in columns if feature_family(c) not in ("pucker_theta", "pucker_phi")]
