"""Rotation- and translation-invariant geometry descriptors for the surrogate."""

from __future__ import annotations

import numpy as np


def inverse_distances(coords_angstrom: np.ndarray) -> np.ndarray:
    """1/r_ij (1/Å) for all pairs, (n_frames, n_atoms (n_atoms − 1) / 2)."""
    i, j = np.triu_indices(coords_angstrom.shape[-2], k=1)
    d = coords_angstrom[..., j, :] - coords_angstrom[..., i, :]
    return 1.0 / np.sqrt((d**2).sum(-1))


def re_descriptor(coords_angstrom: np.ndarray, reference_angstrom: np.ndarray) -> np.ndarray:
    """RE descriptor R_eq,ij / R_ij (Dral et al., JCP 2017), (n_frames, n_pairs)."""
    return inverse_distances(coords_angstrom) / inverse_distances(reference_angstrom[None])[0]


DESCRIPTORS = {"inverse_distances": lambda coords, ref: inverse_distances(coords), "re": re_descriptor}
