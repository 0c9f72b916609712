"""Vectorized geometry primitives. Every function takes coords of shape (..., n_atoms, 3) in Å
and works on all frames at once."""

from __future__ import annotations

import numpy as np


def distances(coords: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distances (Å) for index pairs (k, 2): returns (..., k)."""
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    d = coords[..., pairs[:, 1], :] - coords[..., pairs[:, 0], :]
    return np.sqrt((d**2).sum(axis=-1))


def angles(coords: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """Bond angles a-b-c in degrees for index triples (k, 3): returns (..., k)."""
    t = np.asarray(triples, dtype=int).reshape(-1, 3)
    u = coords[..., t[:, 0], :] - coords[..., t[:, 1], :]
    v = coords[..., t[:, 2], :] - coords[..., t[:, 1], :]
    cos = (u * v).sum(-1) / np.sqrt((u**2).sum(-1) * (v**2).sum(-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def dihedrals(coords: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Dihedral angles a-b-c-d in degrees, (-180, 180], IUPAC sign convention: returns (..., k)."""
    q = np.asarray(quads, dtype=int).reshape(-1, 4)
    b1 = coords[..., q[:, 1], :] - coords[..., q[:, 0], :]
    b2 = coords[..., q[:, 2], :] - coords[..., q[:, 1], :]
    b3 = coords[..., q[:, 3], :] - coords[..., q[:, 2], :]
    n1 = np.cross(b1, b2)
    n2 = np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=-1) * (b1 * n2).sum(-1)
    x = (n1 * n2).sum(-1)
    return np.degrees(np.arctan2(y, x))


def ring_normal(ring_coords: np.ndarray) -> np.ndarray:
    """Cremer–Pople mean-plane unit normal of ring coords (..., N, 3): n ∝ R' × R''."""
    n_ring = ring_coords.shape[-2]
    centered = ring_coords - ring_coords.mean(axis=-2, keepdims=True)
    j = np.arange(n_ring)
    r1 = (centered * np.sin(2 * np.pi * j / n_ring)[:, None]).sum(axis=-2)
    r2 = (centered * np.cos(2 * np.pi * j / n_ring)[:, None]).sum(axis=-2)
    n = np.cross(r1, r2)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


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
    """Signed angle (deg) of bond anchor→atom out of the ring's mean plane ([+] along the CP normal)."""
    n = ring_normal(coords[..., np.asarray(ring, dtype=int), :])
    v = coords[..., atom, :] - coords[..., anchor, :]
    s = (v * n).sum(-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))
