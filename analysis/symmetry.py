"""Symmetry-equivalent atoms: channels that are the same motion on equivalent atoms become one channel.

The permutations are the automorphisms of the bond graph that keep elements (networkx's VF2 matcher; a
molecule of 20 atoms takes milliseconds), kept only where they are also *geometric* symmetries of the
reference geometry: the permuted reference superimposes on it within a tolerance by a rotation (proper) or,
failing that, by a rotation and a reflection (improper; a mirror-symmetric molecule). Swapping the two H of
a CH2 in a chiral environment is a graph automorphism but not a symmetry, and is dropped.

Every event geometry is then mapped to one canonical member of its symmetry orbit: the permutation (with the
reflection for an improper one) that puts its displacement from the reference on the lowest-numbered atoms.
So a C4–N7 cleavage is analysed as the equivalent C3–N6 cleavage. Relabellings that give an event's displacement again
up to thermal noise (a symmetry of the motion itself: a C1/C4 boat of benzene turned end for end) count as one,
and the lowest-numbered is taken, so the noise never picks among them. A mirror image through the molecular
plane of a planar molecule is not a permutation, so "puckering up" and "puckering down" of an atom off
the symmetry axes stay apart; for an atom on an in-plane C2 axis (pyridine's N1 and C4) the rotation about
that axis *is* the swap of up and down, the two are one motion, and a fixed direction picks which face
is canonical (:func:`canonical_choice`).

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
# ... and no atom farther than this from its image: in a large molecule a swap of two H of one CH2 (1.8 Å each) stays
# under the RMSD tolerance (above ~100 atoms), while a noisy reference's true images stay within ~0.5 Å
MAX_ATOM_DEVIATION_ANGSTROM = 1.0
MAX_ANCHORS = 400  # coherent_choice: geometries that settle their images among each other
TIE_FRACTION = 0.25  # relabellings whose |d|⁴ profiles differ by less (of their sum) move the same atoms
SCORE_TIE = 0.02  # ... as do those whose weighted sums differ by less than this fraction
SAME_MOTION = 0.8  # ... and those whose displacements differ by less than this fraction of one's length (one image up to noise)
MIRROR = np.diag([1.0, 1.0, -1.0])


def _graph_automorphisms(nodes: dict, edges, max_count: int) -> list[dict]:
    """Up to ``max_count`` automorphisms (node → node) of the graph of ``nodes`` (node → label) and ``edges`` that
    keep labels (networkx's VF2 matcher)."""
    import networkx as nx
    from networkx.algorithms.isomorphism import GraphMatcher

    graph = nx.Graph()
    graph.add_nodes_from((i, {"label": label}) for i, label in nodes.items())
    graph.add_edges_from(edges)
    matcher = GraphMatcher(graph, graph, node_match=lambda a, b: a["label"] == b["label"])
    found = []
    for mapping in matcher.isomorphisms_iter():
        found.append(mapping)
        if len(found) >= max_count:
            break
    return found


def automorphisms(symbols, bonds, max_count: int = MAX_AUTOMORPHISMS) -> list[tuple[int, ...]]:
    """Element-preserving automorphisms of the bond graph (identity first), at most ``max_count``."""
    found = _graph_automorphisms(dict(enumerate(symbols)), [(int(a), int(b)) for a, b in bonds], max_count)
    identity = tuple(range(len(symbols)))
    return [identity] + sorted({tuple(m[i] for i in range(len(symbols))) for m in found} - {identity})


def candidate_permutations(symbols, bonds, reference, max_count: int = MAX_AUTOMORPHISMS) -> list[tuple[int, ...]]:
    """Permutations to test as symmetries of ``reference`` (identity first): every automorphism of the bond graph,
    or, where there are more than ``max_count`` (each CH2 doubles them and each CH3 multiplies them by six: a C10
    alkane has over 10⁵), the automorphisms of the heavy-atom graph completed on the hydrogens
    (:func:`heavy_atom_completions`). Where that cannot be done, the first ``max_count``, with a warning."""
    perms = automorphisms(symbols, bonds, max_count + 1)
    if len(perms) <= max_count:
        return perms
    completed = heavy_atom_completions(symbols, bonds, reference, max_count)
    if completed is not None:
        log.info("more than %d graph automorphisms: the heavy-atom graph's, completed on the hydrogens (%d candidates)",
                 max_count, len(completed))
        return completed
    log.warning("more than %d graph automorphisms: only the first %d are considered", max_count, max_count)
    return perms[:max_count]


def heavy_atom_completions(symbols, bonds, reference, max_count: int = MAX_AUTOMORPHISMS) -> list[tuple[int, ...]] | None:
    """Automorphisms of the graph of the non-hydrogen atoms, labelled by element and number of bonded H, each
    completed on the hydrogens: the heavy atoms of ``reference`` are superposed on their images (by a rotation,
    and by a rotation and a reflection: two candidates), and each heavy atom's H go to the H of its image they
    then lie nearest (best of all assignments). A symmetry of the molecule moves its H with its heavy atoms, so no
    symmetry is lost; :func:`geometric_symmetries` then tests each candidate. None where an H is bonded to no or
    to two heavy atoms, or fewer than three heavy atoms cannot fix a rotation."""
    from itertools import permutations

    reference = np.asarray(reference, dtype=float)
    n = len(symbols)
    heavy = [i for i, s in enumerate(symbols) if s != "H"]
    hydrogens: dict[int, list[int]] = {i: [] for i in heavy}
    for a, b in bonds:
        a, b = int(a), int(b)
        for h, x in ((a, b), (b, a)):
            if symbols[h] == "H" and symbols[x] != "H":
                hydrogens[x].append(h)
    attached = sorted(h for hs in hydrogens.values() for h in hs)
    n_h = sum(s == "H" for s in symbols)
    if len(heavy) < 3 or len(attached) != n_h or len(set(attached)) != n_h or max(len(v) for v in hydrogens.values()) > 4:
        return None
    edges = [(int(a), int(b)) for a, b in bonds if int(a) in hydrogens and int(b) in hydrogens]
    mappings = _graph_automorphisms({i: (symbols[i], len(hydrogens[i])) for i in heavy}, edges, max_count)
    target = reference[heavy] - reference[heavy].mean(axis=0)
    found = set()
    for mapping in mappings:
        images = [mapping[i] for i in heavy]
        for mirror in (np.eye(3), MIRROR):
            moved_all = reference @ mirror
            rot = _rotation(moved_all[images] - moved_all[images].mean(axis=0), target)
            placed = (moved_all - moved_all[images].mean(axis=0)) @ rot + reference[heavy].mean(axis=0)
            perm = list(range(n))
            for i, image in zip(heavy, images):
                perm[i] = image
                mine = hydrogens[i]
                if mine:
                    best = min(permutations(hydrogens[image]), key=lambda order: float(((placed[list(order)] - reference[mine]) ** 2).sum()))
                    for h, o in zip(mine, best):
                        perm[h] = o
            found.add(tuple(perm))
    identity = tuple(range(n))
    return [identity] + sorted(found - {identity})


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-2, keepdims=True)


def _rotation(m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Best proper rotation (..., 3, 3) taking centred geometries ``m`` onto centred ``t`` (``m @ rot``; Kabsch)."""
    u, _, vt = np.linalg.svd(np.swapaxes(m, -1, -2) @ t)
    fix = np.ones(u.shape[:-2] + (3,))
    fix[..., 2] = np.sign(np.linalg.det(u @ vt))
    return (u * fix[..., None, :]) @ vt


def kabsch_rmsd(mobile: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best proper rotation of each mobile geometry onto target: (aligned (..., n, 3), rmsd (...,)), Å."""
    m, t = _centred(mobile), _centred(target)
    aligned = m @ _rotation(m, t)
    return aligned, np.sqrt(((aligned - t) ** 2).sum(axis=-1).mean(axis=-1))


def geometric_symmetries(reference: np.ndarray, perms, tolerance: float = TOLERANCE_ANGSTROM) -> list[tuple[tuple[int, ...], bool]]:
    """The automorphisms that are symmetries of ``reference``: (permutation, improper), identity first."""
    reference = np.asarray(reference, dtype=float)
    out = [(tuple(range(len(reference))), False)]
    for p in perms:
        if list(p) == list(range(len(reference))):
            continue
        moved = reference[list(p)]
        if _superposes(moved, reference, tolerance):
            out.append((tuple(p), False))
        elif _superposes(moved @ MIRROR, reference, tolerance):
            out.append((tuple(p), True))
    return out


def _superposes(moved: np.ndarray, reference: np.ndarray, tolerance: float) -> bool:
    """RMSD after the best rotation within ``tolerance`` and no atom beyond :data:`MAX_ATOM_DEVIATION_ANGSTROM`."""
    aligned, rmsd = kabsch_rmsd(moved, reference)
    return bool(rmsd <= tolerance and np.sqrt(((aligned - _centred(reference)) ** 2).sum(axis=-1)).max() <= MAX_ATOM_DEVIATION_ANGSTROM)


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


def _generic_direction(reference: np.ndarray) -> np.ndarray:
    """A fixed direction with no special relation to the molecule: (1, 2, 4)/√21 in the reference's principal
    axes (largest to smallest spread), so a planar molecule's normal weighs most (all three axes also for two atoms)."""
    _, _, axes = np.linalg.svd(_centred(np.asarray(reference, dtype=float)), full_matrices=True)
    return np.array([1.0, 2.0, 4.0]) @ axes / np.sqrt(21.0)


def symmetrized(reference: np.ndarray, symmetries) -> np.ndarray:
    """``reference`` averaged over its symmetry images (each relabelled, mirrored if improper, and rotated onto
    it), centred: exactly symmetric, so an event's images have exactly permuted displacements from it."""
    reference = _centred(np.asarray(reference, dtype=float))
    for _ in range(3):
        images = [kabsch_rmsd(restore(reference, perm, improper), reference)[0] for perm, improper in symmetries]
        reference = np.mean(images, axis=0)
    return reference


def canonical_choice(coords: np.ndarray, reference: np.ndarray, symmetries, tie: float = TIE_FRACTION) -> np.ndarray:
    """Index into ``symmetries`` of each geometry's canonical relabelling.

    The one whose displacement from the reference (after a best rotation) weighs most on low atom indices
    (Σ w_i |d_i|⁴, weights w = n, n−1, …, 1; the fourth power lets the moving atoms decide, not the thermal
    noise of all the others): the moving atoms get the lowest equivalent numbers. Relabellings whose
    profile of |d_i|⁴ over the atoms differs from the best one's by less than ``tie`` (a fraction of its sum),
    or whose weighted sum is within :data:`SCORE_TIE` of the best, move the same atoms, e.g. a pucker of an
    atom on a C2 axis of a planar ring, whose two images are the pucker up and down: among those the one whose
    displacement points most along a fixed direction
    (Σ w_i |d_i|² d_i·u) is canonical, so every event of such a channel takes the same image. Ties of that
    too keep the identity. Relabellings whose displacement is the chosen one's again up to noise (their
    difference below :data:`SAME_MOTION` of its length: a symmetry of the motion itself, a C1/C4 boat turned end
    for end) are one image, and the lowest-numbered of them is taken: chosen by the weighted sum, the noise would
    put the larger of two equal amplitudes on the lower-numbered atom in every event (measured on a planted
    benzene: the boat drifted towards a C1 envelope and the two channels merged).
    """
    reference = symmetrized(reference, symmetries)
    return _choice_from_images(image_displacements(coords, reference, symmetries), reference, tie)


def _choice_from_images(displacement: np.ndarray, reference: np.ndarray, tie: float = TIE_FRACTION) -> np.ndarray:
    """:func:`canonical_choice` from the images' displacements (n_sym, n_geom, n_atoms, 3) from the symmetrized
    ``reference``."""
    weights = np.arange(displacement.shape[-2], 0, -1, dtype=float)
    length = np.sqrt((displacement ** 2).sum(axis=-1))  # (n_sym, n_geom, n_atoms)
    profiles = length ** 4
    signs = (length ** 2 * (displacement @ _generic_direction(reference)) * weights).sum(axis=-1)  # (n_sym, n_geom)
    scores = profiles @ weights
    first = np.argmax(scores, axis=0)
    top = profiles[first, np.arange(len(first))]
    tied = ((np.abs(profiles - top).sum(axis=-1) <= tie * top.sum(axis=-1)) | (scores >= (1.0 - SCORE_TIE) * scores.max(axis=0))
            | _same_motion(displacement, first))
    signs = np.where(tied, signs, -np.inf)
    best = np.argmax(signs, axis=0)
    # relabellings that give the best one's displacement again, up to noise, are one image (a C1/C4 boat kept or
    # turned end for end): the lowest-numbered is taken, so noise does not choose (by the score above it puts the
    # larger of two equal amplitudes on C1 in every event, and a boat drifts towards a C1 envelope)
    alike = _same_motion(displacement, best)
    best = np.where(alike.any(axis=0), np.argmax(alike, axis=0), best)
    best[signs.max(axis=0) <= signs[0] + 1e-9] = 0
    return best


def _one_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether displacements ``a`` and ``b`` (flattened, (..., d)) are one image up to noise: their difference
    below :data:`SAME_MOTION` of the length of ``b``. The relabelling between two such images is a symmetry of
    the motion itself, and they differ only in which atoms carry which thermal noise."""
    return np.sqrt(((a - b) ** 2).sum(axis=-1)) <= SAME_MOTION * np.sqrt((b ** 2).sum(axis=-1))


def _same_motion(displacement: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(n_sym, n_geom): whether each image's displacement is image ``ref[g]`` of its geometry again up to noise
    (:func:`_one_image`)."""
    flat = displacement.reshape(displacement.shape[:2] + (-1,))
    return _one_image(flat, flat[ref, np.arange(flat.shape[1])][None])


def relabel(coords: np.ndarray, symmetries, choice) -> np.ndarray:
    """Geometries (n, n_atoms, 3) each relabelled by its symmetry ``choice`` (indices into ``symmetries``)."""
    out = np.array(coords, dtype=float)
    choice = np.asarray(choice, dtype=int)
    for k in np.unique(choice[choice > 0]):
        out[choice == k] = apply(out[choice == k], *symmetries[k])
    return out


def canonicalize(coords: np.ndarray, reference: np.ndarray, symmetries) -> tuple[np.ndarray, np.ndarray]:
    """(canonical geometries, index of the symmetry used) for geometries (n, n_atoms, 3)."""
    coords = np.asarray(coords, dtype=float)
    if len(symmetries) < 2 or not len(coords):
        return coords, np.zeros(len(coords), dtype=int)
    choice = canonical_choice(coords, reference, symmetries)
    return relabel(coords, symmetries, choice), choice


def _flip_sign(phrase: str) -> str:
    return phrase.translate(str.maketrans({"+": "-", "-": "+"})) if phrase.endswith(("[+]", "[-]")) else phrase


def image_displacements(coords: np.ndarray, reference: np.ndarray, symmetries) -> np.ndarray:
    """Displacements (n_sym, n_geom, n_atoms, 3) of each geometry's symmetry images from ``reference`` (already
    :func:`symmetrized`), each image rotated onto it (Å)."""
    coords = np.asarray(coords, dtype=float)
    return np.array([kabsch_rmsd(apply(coords, perm, improper), reference)[0] - reference for perm, improper in symmetries])


def coherent_choice(coords: np.ndarray, reference: np.ndarray, symmetries, groups=None,
                    max_anchors: int = MAX_ANCHORS, max_sweeps: int = 30) -> np.ndarray:
    """Index into ``symmetries`` of each geometry's relabelling, chosen so that the events of one channel take
    the same image even where no rule on one geometry can tell (a weak pucker of an atom on a C2 axis under
    thermal noise: its up and down images differ by less than the noise).

    Starts from :func:`canonical_choice`; then, within each group (``groups``, e.g. the transition; default
    one group), every geometry in turn takes the image with the highest Gaussian-kernel density among the
    others' current images (bandwidth: the median distance to the nearest other image), until no image
    changes. Above ``max_anchors`` geometries, evenly spaced ones (by position) settle first and the rest
    take their densest image among those. A geometry does not move to an image that is its current one again up
    to noise (:data:`SAME_MOTION`): such a choice would follow the noise, and the sweeps reinforce it until a
    symmetric channel is folded. Deterministic for a given order of the geometries.
    """
    coords = np.asarray(coords, dtype=float)
    if len(symmetries) < 2 or not len(coords):
        return np.zeros(len(coords), dtype=int)
    reference = symmetrized(reference, symmetries)
    displacement = image_displacements(coords, reference, symmetries)
    choice = _choice_from_images(displacement, reference)
    if len(coords) < 3:
        return choice
    images = displacement.reshape(len(symmetries), len(coords), -1)
    groups = np.zeros(len(coords), dtype=int) if groups is None else _codes(groups)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) >= 3:
            choice[members] = _cohere(images[:, members], choice[members], max_anchors, max_sweeps)
    return choice


def _codes(values) -> np.ndarray:
    """Integer codes of arbitrary labels."""
    _, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return codes


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of a (..., k, d) and b (m, d): (..., k, m)."""
    return np.maximum((a ** 2).sum(-1)[..., None] + (b ** 2).sum(-1) - 2.0 * a @ b.T, 0.0)


def _cohere(images: np.ndarray, choice: np.ndarray, max_anchors: int, max_sweeps: int) -> np.ndarray:
    n_sym, n, _ = images.shape
    choice = choice.copy()
    anchors = np.unique(np.linspace(0, n - 1, min(n, max_anchors)).round().astype(int))
    current = images[choice[anchors], anchors]  # (m, d)
    d2 = _sq_dist(current, current)
    np.fill_diagonal(d2, np.inf)
    bandwidth2 = float(np.median(d2.min(axis=1))) or 1e-12
    for _ in range(max_sweeps):
        changed = False
        for k, a in enumerate(anchors):
            density = np.exp(-_sq_dist(images[:, a], current) / (2.0 * bandwidth2))  # (n_sym, m)
            density[:, k] = 0.0
            density = density.sum(axis=1)
            best = int(np.argmax(density))
            if _one_image(images[best, a], images[choice[a], a]):
                continue  # the same image up to noise: the density must not choose between them (it would fold noise)
            if density[best] > density[choice[a]] * (1.0 + 1e-9) + 1e-300:
                choice[a] = best
                current[k] = images[best, a]
                changed = True
        if not changed:
            break
    rest = np.setdiff1d(np.arange(n), anchors)
    for chunk in np.array_split(rest, max(1, len(rest) // 1000)):
        if not len(chunk):
            continue
        density = np.exp(-_sq_dist(images[:, chunk], current) / (2.0 * bandwidth2)).sum(axis=-1)  # (n_sym, n_chunk)
        best = np.argmax(density, axis=0)
        keep = density[best, np.arange(len(chunk))] <= density[choice[chunk], np.arange(len(chunk))] * (1.0 + 1e-9)
        keep |= _one_image(images[best, chunk], images[choice[chunk], chunk])
        choice[chunk] = np.where(keep, choice[chunk], best)
    return choice


def equivalent_phrases(phrase: str, names, perms, flips=None) -> list[str]:
    """``phrase`` ('C3–N6 stretching') with its atom names mapped through each permutation, unique, in order.

    ``flips``: per permutation, whether it turns the sign of a signed phrase ('C4 puckering [+]' → '[-]'): a
    rotation that swaps the faces of a planar ring, see :func:`canonical_choice`."""
    if not phrase:
        return [phrase]
    pattern = _name_pattern(names)
    index = {n: i for i, n in enumerate(names)}
    out, seen = [], set()
    for k, p in enumerate(perms):
        mapped = _oriented(pattern.sub(lambda m: names[p[index[m.group(0)]]], phrase), index)
        if flips is not None and flips[k]:
            head, _, sign = mapped.rpartition(" ")
            mapped = f"{head} {_flip_sign(sign)}"
        key = _phrase_key(mapped)
        if key not in seen:
            seen.add(key)
            out.append(mapped)
    return out


def _oriented(phrase: str, index: dict) -> str:
    """A bond, angle, torsion or contact phrase read from its lower-numbered end ('C2-C1 stretching' → 'C1-C2
    stretching', 'H8-C3-C2-H7 torsion' → 'H7-C2-C3-H8 torsion': one motion either way); any other as it is."""
    head, space, tail = phrase.partition(" ")
    parts = re.split("(-|···)", head)
    atoms = parts[::2]
    if len(atoms) < 2 or any(a not in index for a in atoms):
        return phrase
    if [index[a] for a in reversed(atoms)] < [index[a] for a in atoms]:
        head = "".join(parts[::-1])
    return head + space + tail


def _name_pattern(names) -> re.Pattern:
    """Any of the atom ``names`` as a whole word (the longest first: ``C10`` is not ``C1``)."""
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9'])(?:{alternatives})(?![0-9'])")


def first_form(phrase: str) -> str:
    """The first of the forms :func:`merged_phrase` joined: 'C3–N6 / C4–N7 stretching' → 'C3–N6 stretching',
    'C4 puckering [+] / [-]' → 'C4 puckering [+]'; a phrase of one form as it is."""
    forms = str(phrase or "").split(" / ")
    if len(forms) > 1 and " " not in forms[0] and " " in forms[-1]:
        return f"{forms[0]} {forms[-1].split(' ', 1)[1]}"
    return forms[0]


def phrase_atoms(phrase: str, names) -> list[int]:
    """Indices of the atoms a motion phrase names, in its first form (:func:`first_form`; 'C3–N6 / C4–N7
    stretching' → C3, N6; 'H6 transfer O1→N5' → H6, O1, N5), in the order named."""
    first = first_form(phrase)
    index = {n: i for i, n in enumerate(names)}
    return list(dict.fromkeys(index[m.group(0)] for m in _name_pattern(names).finditer(first))) if names else []


def _phrase_key(phrase: str) -> tuple:
    head, _, tail = phrase.partition(" ")
    parts = re.split("-|···", head)
    return tuple(min(parts, parts[::-1])), tail  # H7-C2-C3-H8 and H8-C3-C2-H7 are one torsion, C1···C7 and C7···C1 one pair


def phrase_orbit(phrase: str, names, perms) -> frozenset:
    """The set of ``phrase``'s symmetry-equivalent forms (a torsion read either way is one form): two phrases
    with the same orbit name one motion of a channel whose events were relabelled."""
    return frozenset(_phrase_key(f) for f in equivalent_phrases(phrase, names, perms))


def merged_phrase(phrase: str, names, perms, flips=None) -> str:
    """'C3–N6 / C4–N7 stretching' for the phrase and its symmetry-equivalent forms (the phrase if none);
    'C4 puckering [+] / [-]' where the forms differ only in sign (``flips``: see :func:`equivalent_phrases`)."""
    forms = equivalent_phrases(phrase, names, perms, flips)
    if len(forms) == 1:
        return phrase
    bodies, signs = zip(*[f.rsplit(" ", 1) for f in forms]) if all(f.endswith(("[+]", "[-]")) for f in forms) else ((), ())
    if len(set(bodies)) == 1:
        return f"{bodies[0]} {' / '.join(signs)}"
    heads, tails = zip(*[(f.split(" ", 1) + [""])[:2] for f in forms])
    if len(set(tails)) == 1 and tails[0]:
        return " / ".join(heads) + " " + tails[0]
    return " / ".join(forms)
