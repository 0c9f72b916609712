"""Rotation- and translation-invariant geometry descriptors for the surrogate.

A descriptor name is one of :data:`DESCRIPTORS` or several joined by ``+`` (their columns side by side, in that
order, :func:`descriptor`); :func:`block_columns` says which columns each part holds, so that each model of the
surrogate can read its own (``columns``).
"""

from __future__ import annotations

import numpy as np

from analysis.symmetry import kabsch_rmsd


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


def aligned_cartesian(coords_angstrom: np.ndarray, reference_angstrom: np.ndarray) -> np.ndarray:
    """Displacement (Å) of every atom from the reference geometry after the best proper rotation of the geometry onto
    it (Kabsch, equal weights, centroids superposed), (n_frames, 3 n_atoms).

    Invariant under rotation and translation; linear in small displacements, so an energy that is (piecewise) linear or
    quadratic in a vibration, a puckering or a pyramidalization stays so here, where 1/r_ij bends it. It tells mirror
    images apart and suits a molecule that keeps one shape and atom order; across a large-amplitude motion (a
    dissociation, a full torsion) the alignment is ill defined. Which descriptor serves a data set is left to the
    cross-validation (:data:`analysis.surrogate.selection.MLP_GRID`)."""
    coords = np.asarray(coords_angstrom, dtype=float)
    reference = np.asarray(reference_angstrom, dtype=float)
    aligned, _ = kabsch_rmsd(coords, reference)
    return (aligned - (reference - reference.mean(axis=0))).reshape(len(coords), -1)


DESCRIPTORS = {"inverse_distances": lambda coords, ref: inverse_distances(coords), "re": re_descriptor,
               "aligned_cartesian": aligned_cartesian}
_WIDTHS = {"inverse_distances": lambda n: n * (n - 1) // 2, "re": lambda n: n * (n - 1) // 2, "aligned_cartesian": lambda n: 3 * n}


def parts(name: str) -> list[str]:
    """The descriptors of a (``+``-joined) descriptor name, each checked against :data:`DESCRIPTORS`."""
    out = name.split("+")
    unknown = [p for p in out if p not in DESCRIPTORS]
    if unknown:
        raise ValueError(f"unknown descriptor {'+'.join(unknown)!r} in {name!r}: expected one of {sorted(DESCRIPTORS)} (joined by '+')")
    return out


def descriptor(name: str, coords_angstrom: np.ndarray, reference_angstrom: np.ndarray) -> np.ndarray:
    """The descriptor ``name`` (one of :data:`DESCRIPTORS` or several joined by ``+``, side by side) of each geometry."""
    blocks = [DESCRIPTORS[p](coords_angstrom, reference_angstrom) for p in parts(name)]
    return blocks[0] if len(blocks) == 1 else np.hstack([np.asarray(b, dtype=float) for b in blocks])


def take_columns(x: np.ndarray, columns) -> np.ndarray:
    """The [start, stop) ``columns`` of a descriptor array (one part of a joined descriptor); None: all of them."""
    return x if columns is None else x[:, columns[0]:columns[1]]


def block_columns(name: str, n_atoms: int) -> dict[str, list[int]]:
    """Part → its [start, stop) columns in :func:`descriptor` ``name`` for a molecule of ``n_atoms``."""
    out, start = {}, 0
    for p in parts(name):
        out[p] = [start, start + _WIDTHS[p](n_atoms)]
        start = out[p][1]
    return out
