"""Symmetry-equivalent atoms: channels that are the same motion on equivalent atoms become one channel.

The permutations are the automorphisms of the bond graph that keep elements (networkx's VF2 matcher; a
molecule of 20 atoms takes milliseconds), kept only where they are also *geometric* symmetries of the
reference geometry: the permuted reference superimposes on it within a tolerance by a rotation (proper) or,
failing that, by a rotation and a reflection (improper; a mirror-symmetric molecule). Swapping the two H of
a CH2 in a chiral environment is a graph automorphism but not a symmetry, and is dropped.

Every event geometry is then mapped to one canonical member of its symmetry orbit: the permutation (with the
reflection for an improper one) that puts its displacement from the reference on the lowest-numbered atoms.
So a C4–N7 cleavage is analysed as the equivalent C3–N6 cleavage. A mirror image through the molecular
plane of a planar molecule is not a permutation, so "puckering up" and "puckering down" stay apart.

Convention: a permutation ``p`` gives the canonical geometry ``X'[i] = X[p[i]]``; canonical atom ``i`` is
original atom ``p[i]``.
"""

from __future__ import annotations

import logging
import re

import numpy as np

log = logging.getLogger(__name__)

MAX_AUTOMORPHISMS = 5000
TOLERANCE_ANGSTROM = 0.25
MIRROR = np.diag([1.0, 1.0, -1.0])


def automorphisms(symbols, bonds, max_count: int = MAX_AUTOMORPHISMS) -> list[tuple[int, ...]]:
    """Element-preserving automorphisms of the bond graph (identity first), at most ``max_count``."""
    import networkx as nx
    from networkx.algorithms.isomorphism import GraphMatcher

    graph = nx.Graph()
    graph.add_nodes_from((i, {"element": s}) for i, s in enumerate(symbols))
    graph.add_edges_from((int(a), int(b)) for a, b in bonds)
    matcher = GraphMatcher(graph, graph, node_match=lambda a, b: a["element"] == b["element"])
    found = []
    for mapping in matcher.isomorphisms_iter():
        found.append(tuple(mapping[i] for i in range(len(symbols))))
        if len(found) >= max_count:
            log.warning("more than %d graph automorphisms: only the first %d are considered", max_count, max_count)
            break
    identity = tuple(range(len(symbols)))
    return [identity] + sorted(p for p in set(found) if p != identity)


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-2, keepdims=True)


def kabsch_rmsd(mobile: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best proper rotation of each mobile geometry onto target: (aligned (..., n, 3), rmsd (...,)), Å."""
    m, t = _centred(mobile), _centred(target)
    u, _, vt = np.linalg.svd(np.swapaxes(m, -1, -2) @ t)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones(u.shape[:-2] + (3,))
    fix[..., 2] = d
    rot = (u * fix[..., None, :]) @ vt
    aligned = m @ rot
    return aligned, np.sqrt(((aligned - t) ** 2).sum(axis=-1).mean(axis=-1))


def geometric_symmetries(reference: np.ndarray, perms, tolerance: float = TOLERANCE_ANGSTROM) -> list[tuple[tuple[int, ...], bool]]:
    """The automorphisms that are symmetries of ``reference``: (permutation, improper), identity first."""
    reference = np.asarray(reference, dtype=float)
    out = [(tuple(range(len(reference))), False)]
    for p in perms:
        if list(p) == list(range(len(reference))):
            continue
        moved = reference[list(p)]
        if kabsch_rmsd(moved, reference)[1] <= tolerance:
            out.append((tuple(p), False))
        elif kabsch_rmsd(moved @ MIRROR, reference)[1] <= tolerance:
            out.append((tuple(p), True))
    return out


def apply(coords: np.ndarray, perm, improper: bool) -> np.ndarray:
    """Geometries (..., n_atoms, 3) relabelled by ``perm`` (and mirrored if ``improper``)."""
    out = np.asarray(coords)[..., list(perm), :]
    return out @ MIRROR if improper else out


def restore(coords: np.ndarray, perm, improper: bool) -> np.ndarray:
    """The inverse of :func:`apply`: geometries relabelled by ``perm`` (and mirrored) back to their own labels."""
    coords = np.asarray(coords)
    out = np.empty_like(coords)
    out[..., list(perm), :] = coords @ MIRROR if improper else coords
    return out


def canonical_choice(coords: np.ndarray, reference: np.ndarray, symmetries) -> np.ndarray:
    """Index into ``symmetries`` of each geometry's canonical relabelling.

    The one whose displacement from the reference (after a best rotation) weighs most on low atom indices
    (weights n, n−1, …, 1): the moving atoms get the lowest equivalent numbers. Ties keep the identity.
    """
    coords = np.asarray(coords, dtype=float)
    n_atoms = coords.shape[-2]
    weights = np.arange(n_atoms, 0, -1, dtype=float)
    scores = []
    for perm, improper in symmetries:
        aligned, _ = kabsch_rmsd(apply(coords, perm, improper), reference)
        scores.append((((aligned - _centred(reference)) ** 2).sum(axis=-1) * weights).sum(axis=-1))
    scores = np.array(scores)  # (n_sym, n_geom)
    best = np.argmax(scores, axis=0)
    best[scores.max(axis=0) <= scores[0] + 1e-9] = 0
    return best


def canonicalize(coords: np.ndarray, reference: np.ndarray, symmetries) -> tuple[np.ndarray, np.ndarray]:
    """(canonical geometries, index of the symmetry used) for geometries (n, n_atoms, 3)."""
    coords = np.asarray(coords, dtype=float)
    if len(symmetries) < 2 or not len(coords):
        return coords, np.zeros(len(coords), dtype=int)
    choice = canonical_choice(coords, reference, symmetries)
    out = coords.copy()
    for k in np.unique(choice):
        if k:
            out[choice == k] = apply(coords[choice == k], *symmetries[k])
    return out, choice


def equivalent_phrases(phrase: str, names, perms) -> list[str]:
    """``phrase`` ('C3–N6 stretching') with its atom names mapped through each permutation, unique, in order."""
    if not phrase:
        return [phrase]
    pattern = re.compile("|".join(sorted((re.escape(n) for n in names), key=len, reverse=True)))
    pattern = re.compile(rf"(?<![A-Za-z0-9'])(?:{pattern.pattern})(?![0-9'])")
    index = {n: i for i, n in enumerate(names)}
    out, seen = [], set()
    for p in perms:
        mapped = pattern.sub(lambda m: names[p[index[m.group(0)]]], phrase)
        head, _, tail = mapped.partition(" ")
        parts = head.split("-")
        key = (tuple(min(parts, parts[::-1])), tail)  # H7-C2-C3-H8 and H8-C3-C2-H7 are one torsion
        if key not in seen:
            seen.add(key)
            out.append(mapped)
    return out


def merged_phrase(phrase: str, names, perms) -> str:
    """'C3–N6 / C4–N7 stretching' for the phrase and its symmetry-equivalent forms (the phrase if none)."""
    forms = equivalent_phrases(phrase, names, perms)
    if len(forms) == 1:
        return phrase
    heads, tails = zip(*[(f.split(" ", 1) + [""])[:2] for f in forms])
    if len(set(tails)) == 1 and tails[0]:
        return " / ".join(heads) + " " + tails[0]
    return " / ".join(forms)
