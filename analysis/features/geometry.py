"""Vectorized geometry primitives, all frames at once. One implementation per quantity, on atom-major coords
(``*_am``: (n_atoms, 3, n_frames), what the feature stage runs); the frame-major functions (coords
(..., n_atoms, 3), Å) are thin wrappers around them."""

from __future__ import annotations

import numpy as np


def atom_major(coords: np.ndarray) -> np.ndarray:
    """(..., n_atoms, 3) → contiguous (n_atoms, 3, n_frames): every coordinate of an atom is one row, so
    bond vectors of all frames are contiguous (≈3× faster than fancy indexing on frame-major arrays)."""
    coords = np.asarray(coords, dtype=float)
    n_atoms = coords.shape[-2]
    return np.ascontiguousarray(np.moveaxis(coords.reshape(-1, n_atoms, 3), 0, -1))


def _frames_back(values: np.ndarray, coords_shape) -> np.ndarray:
    """(k, n_frames) → (..., k) matching the leading shape of the input coords."""
    return np.ascontiguousarray(values.T).reshape(*coords_shape[:-2], values.shape[0])


def distances_am(xam: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distances (Å) on atom-major coords: (k, n_frames)."""
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    d = xam[pairs[:, 1]] - xam[pairs[:, 0]]
    return np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2)


def angles_am(xam: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """Bond angles a-b-c (deg) on atom-major coords: (k, n_frames)."""
    t = np.asarray(triples, dtype=int).reshape(-1, 3)
    u = xam[t[:, 0]] - xam[t[:, 1]]
    v = xam[t[:, 2]] - xam[t[:, 1]]
    dot = u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1] + u[:, 2] * v[:, 2]
    uu = u[:, 0] ** 2 + u[:, 1] ** 2 + u[:, 2] ** 2
    vv = v[:, 0] ** 2 + v[:, 1] ** 2 + v[:, 2] ** 2
    return np.degrees(np.arccos(np.clip(dot / np.sqrt(uu * vv), -1.0, 1.0)))


def _cross(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2], a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


def dihedral_sin_cos_am(xam: np.ndarray, quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of the dihedrals a-b-c-d (IUPAC sign) on atom-major coords, each (k, n_frames)."""
    q = np.asarray(quads, dtype=int).reshape(-1, 4)
    b1 = xam[q[:, 1]] - xam[q[:, 0]]
    b2 = xam[q[:, 2]] - xam[q[:, 1]]
    b3 = xam[q[:, 3]] - xam[q[:, 2]]
    n1x, n1y, n1z = _cross(b1, b2)
    n2x, n2y, n2z = _cross(b2, b3)
    b2_len = np.sqrt(b2[:, 0] ** 2 + b2[:, 1] ** 2 + b2[:, 2] ** 2)
    y = b2_len * (b1[:, 0] * n2x + b1[:, 1] * n2y + b1[:, 2] * n2z)
    x = n1x * n2x + n1y * n2y + n1z * n2z
    r = np.hypot(x, y)
    return y / r, x / r


def distances(coords: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distances (Å) for index pairs (k, 2): returns (..., k)."""
    coords = np.asarray(coords, dtype=float)
    return _frames_back(distances_am(atom_major(coords), pairs), coords.shape)


def angles(coords: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """Bond angles a-b-c in degrees for index triples (k, 3): returns (..., k)."""
    coords = np.asarray(coords, dtype=float)
    return _frames_back(angles_am(atom_major(coords), triples), coords.shape)


def dihedrals(coords: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Dihedral angles a-b-c-d in degrees, (-180, 180], IUPAC sign convention: returns (..., k)."""
    coords = np.asarray(coords, dtype=float)
    sin, cos = dihedral_sin_cos_am(atom_major(coords), quads)
    return _frames_back(np.degrees(np.arctan2(sin, cos)), coords.shape)


def ring_normal(ring_coords: np.ndarray) -> np.ndarray:
    """Cremer–Pople mean-plane unit normal of ring coords (..., N, 3): (..., 3) (wraps :func:`ring_normal_am`)."""
    ring_coords = np.asarray(ring_coords, dtype=float)
    n = ring_normal_am(atom_major(ring_coords), np.arange(ring_coords.shape[-2]))
    return np.ascontiguousarray(n.T).reshape(*ring_coords.shape[:-2], 3)


def cremer_pople(coords: np.ndarray, ring) -> dict:
    """Cremer–Pople puckering parameters of one ring, for every frame.

    Parameters
    ----------
    coords : ndarray (..., n_atoms, 3), Å
    ring : sequence of int
        Ring atom indices in ring order (5- or 6-membered, or any N ≥ 4).

    Returns
    -------
    dict with ``Q`` (Å, total puckering amplitude), ``theta`` (deg, 6-rings only, else NaN),
    ``phi`` (deg, φ2 in [0, 360)), ``q2`` (Å), ``z`` (..., N) per-atom displacements from the mean plane (Å).
    """
    ring = np.asarray(ring, dtype=int)
    n_ring = ring.size
    r = coords[..., ring, :]
    centered = r - r.mean(axis=-2, keepdims=True)
    z = (centered * ring_normal(r)[..., None, :]).sum(-1)
    j = np.arange(n_ring)
    c2 = np.sqrt(2.0 / n_ring) * (z * np.cos(4 * np.pi * j / n_ring)).sum(-1)
    s2 = -np.sqrt(2.0 / n_ring) * (z * np.sin(4 * np.pi * j / n_ring)).sum(-1)
    q2 = np.hypot(c2, s2)
    phi = np.degrees(np.arctan2(s2, c2)) % 360.0
    big_q = np.sqrt((z**2).sum(-1))
    if n_ring == 6:
        q3 = np.sqrt(1.0 / n_ring) * (z * (-1.0) ** j).sum(-1)
        theta = np.degrees(np.arctan2(q2, q3))
    else:
        theta = np.full_like(big_q, np.nan)
    return {"Q": big_q, "theta": theta, "phi": phi, "q2": q2, "z": z}


def out_of_plane(coords: np.ndarray, ring, anchor: int, atom: int) -> np.ndarray:
    """Signed angle (deg) of bond anchor→atom out of the ring's mean plane ([+] along the CP normal): (...,)
    (wraps :func:`out_of_plane_am`)."""
    coords = np.asarray(coords, dtype=float)
    return _frames_back(out_of_plane_am(atom_major(coords), ring, [anchor], [atom]), coords.shape)[..., 0]


def pyramidalization(coords: np.ndarray, centers, neighbors) -> np.ndarray:
    """:func:`pyramidalization_am` on frame-major coords (..., n_atoms, 3): (..., k)."""
    coords = np.asarray(coords, dtype=float)
    return _frames_back(pyramidalization_am(atom_major(coords), centers, neighbors), coords.shape)


def ring_normal_am(xam: np.ndarray, ring) -> np.ndarray:
    """Cremer–Pople mean-plane unit normal on atom-major coords: (3, n_frames)."""
    ring = np.asarray(ring, dtype=int)
    r = xam[ring]  # (N, 3, F)
    centered = r - r.mean(axis=0, keepdims=True)
    j = np.arange(ring.size)
    r1 = np.tensordot(np.sin(2 * np.pi * j / ring.size), centered, axes=(0, 0))  # (3, F)
    r2 = np.tensordot(np.cos(2 * np.pi * j / ring.size), centered, axes=(0, 0))
    n = np.stack([r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]])
    return n / np.sqrt((n**2).sum(axis=0))


def out_of_plane_am(xam: np.ndarray, ring, anchors, atoms) -> np.ndarray:
    """Signed angles (deg) of bonds anchor→atom out of one ring's mean plane, atom-major: (m, n_frames)."""
    n = ring_normal_am(xam, ring)
    v = xam[np.asarray(atoms, dtype=int)] - xam[np.asarray(anchors, dtype=int)]  # (m, 3, F)
    s = (v * n[None]).sum(axis=1) / np.sqrt((v**2).sum(axis=1))
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def pyramidalization_am(xam: np.ndarray, centers, neighbors) -> np.ndarray:
    """Signed pyramidalization angle (deg) of three-coordinated centres on atom-major coords: (k, n_frames).

    The angle is arcsin(h / d̄): h is the height of the centre above the plane of its three neighbours,
    d̄ the mean centre–neighbour distance. 0° for a planar (sp2) centre, 19.47° for an ideal tetrahedral
    one. The sign follows the plane normal (n2 − n1) × (n3 − n1) with the neighbours in index order, so it
    flips when the pyramid inverts (e.g. an NH2 umbrella flip).

    Parameters
    ----------
    xam : ndarray (n_atoms, 3, n_frames), Å (:func:`atom_major`)
    centers : sequence of int, shape (k,)
    neighbors : array of int, shape (k, 3), each row in ascending index order
    """
    c = np.asarray(centers, dtype=int)
    nb = np.asarray(neighbors, dtype=int).reshape(-1, 3)
    p0, p1, p2 = xam[nb[:, 0]], xam[nb[:, 1]], xam[nb[:, 2]]
    nx, ny, nz = _cross(p1 - p0, p2 - p0)
    norm = np.sqrt(nx**2 + ny**2 + nz**2)
    center = xam[c]
    rel = center - p0
    height = (rel[:, 0] * nx + rel[:, 1] * ny + rel[:, 2] * nz) / norm

    def length(v):
        return np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2 + v[:, 2] ** 2)

    mean_d = (length(rel) + length(center - p1) + length(center - p2)) / 3.0
    return np.degrees(np.arcsin(np.clip(height / mean_d, -1.0, 1.0)))
