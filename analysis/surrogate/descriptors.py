"""Rotation- and translation-invariant geometry descriptors for the surrogate."""

from __future__ import annotations

import numpy as np


def inverse_distances(coords_angstrom: np.ndarray) -> np.ndarray:
    """1/r_ij (1/Å) for all pairs, (n_frames, n_atoms (n_atoms − 1) / 2), in the coordinates' dtype.

    Built one Cartesian component at a time (x², then + y², then + z²: the order a sum over the last axis of
    three takes, so the values are the same to the bit): a (n_frames, n_pairs, 3) difference array summed over
    its short last axis took 4x as long (2.4 s against 0.6 s for 200k frames of 13 atoms)."""
    coords = np.asarray(coords_angstrom)
    if not np.issubdtype(coords.dtype, np.floating):
        coords = coords.astype(float)
    i, j = np.triu_indices(coords.shape[-2], k=1)
    squared = None
    for axis in range(coords.shape[-1]):
        component = np.ascontiguousarray(coords[..., axis])
        d = component[..., j] - component[..., i]
        d *= d
        squared = d if squared is None else np.add(squared, d, out=squared)
    np.sqrt(squared, out=squared)
    return np.reciprocal(squared, out=squared)


def re_descriptor(coords_angstrom: np.ndarray, reference_angstrom: np.ndarray) -> np.ndarray:
    """RE descriptor R_eq,ij / R_ij (Dral et al., JCP 2017), (n_frames, n_pairs)."""
    return inverse_distances(coords_angstrom) / inverse_distances(reference_angstrom[None])[0]


DESCRIPTORS = {"inverse_distances": lambda coords, ref: inverse_distances(coords), "re": re_descriptor}
