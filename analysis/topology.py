"""Molecular topology perceived from a reference geometry: bonds, rings, atom names, substituents."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from analysis.atoms import AtomSelection, fragment_labels
from analysis.elements import COVALENT_RADII_ANGSTROM


CONTACT_MAX_ANGSTROM = 4.0  # non-bonded heavy atoms at most this far apart at the reference may bond (Topology.contacts)
H_CONTACT_MAX_ANGSTROM = 2.6  # a hydrogen and a heavy atom it is not bonded to, this close, may bond (Topology.hydrogen_contacts)
LINEAR_ANGLE_DEG = 150.0  # bond angles above this make a torsion through them undefined (sp centres: 170-180°)


@dataclass
class Topology:
    """Bonds, rings and names of one molecule (indices 0-based, in file order).

    Attributes
    ----------
    symbols : list of str
    names : list of str
        ``C1``, ``N3``... (element + 1-based index) unless the user maps them.
    bonds : list of (int, int)
    rings : list of list of int
        Smallest set of smallest rings (sizes 3–8), each in canonical traversal order.
    reference_angstrom : list
        The reference geometry (n_atoms, 3) the topology was perceived from.
    symmetries : list of [permutation, improper]
        Symmetry-equivalent relabellings of the atoms, identity first (:mod:`analysis.symmetry`); empty when
        symmetry merging is off.
    symmetry_reference_angstrom : list
        The geometry symmetries were judged on and events are canonicalized against (the ensemble's mean
        initial geometry).
    atoms : list of int
        The analysed atoms' 0-based indices among the simulated system's (``features.atoms``); empty: the
        system is the molecule. Every other field is about the analysed atoms alone.
    system_symbols : list of str
        Every atom of the simulated system (with ``atoms``).
    """

    symbols: list
    names: list
    bonds: list
    rings: list
    reference_angstrom: list = field(default_factory=list)
    symmetries: list = field(default_factory=list)
    symmetry_reference_angstrom: list = field(default_factory=list)
    atoms: list = field(default_factory=list)
    system_symbols: list = field(default_factory=list)

    def selection(self) -> AtomSelection | None:
        """The analysed atoms of the simulated system, for :class:`analysis.io.store.Store`; None: all of them."""
        return AtomSelection.from_record({"atoms": self.atoms, "system_symbols": self.system_symbols})

    def neighbors(self, atom: int) -> list[int]:
        return sorted({b for a, b in self.bonds if a == atom} | {a for a, b in self.bonds if b == atom})

    def angles(self) -> list[tuple[int, int, int]]:
        """All bonded triples a-b-c with a < c."""
        out = []
        for b in range(len(self.symbols)):
            for a, c in combinations(self.neighbors(b), 2):
                out.append((a, b, c))
        return out

    def dihedrals(self) -> list[tuple[int, int, int, int]]:
        """One proper dihedral per rotatable-or-not central bond b-c per outer pair (heavy atoms first), except where
        a-b-c or b-c-d is nearly linear (above :data:`LINEAR_ANGLE_DEG` in the reference geometry: M-C≡O, C≡C-H,
        C≡N), where the torsion is undefined and thermal noise alone turns it through the full circle."""
        linear = self._linear_angles()
        out = []
        for b, c in self.bonds:
            for a in self.neighbors(b):
                if a == c or (min(a, c), b, max(a, c)) in linear:
                    continue
                for d in self.neighbors(c):
                    if d in (b, a) or (min(b, d), c, max(b, d)) in linear:
                        continue
                    out.append((a, b, c, d))
        return out

    def _linear_angles(self) -> set[tuple[int, int, int]]:
        """The bonded triples (a, b, c), a < c, whose angle exceeds :data:`LINEAR_ANGLE_DEG` in the reference geometry
        (none without one)."""
        triples = self.angles()
        if not len(self.reference_angstrom) or not triples:
            return set()
        xyz = np.asarray(self.reference_angstrom, dtype=float)
        t = np.array(triples)
        u, v = xyz[t[:, 0]] - xyz[t[:, 1]], xyz[t[:, 2]] - xyz[t[:, 1]]
        cos = (u * v).sum(axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1) + 1e-12)
        return {tuple(int(i) for i in row) for row in t[np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) > LINEAR_ANGLE_DEG]}

    def contacts(self, max_distance_angstrom: float = CONTACT_MAX_ANGSTROM, min_bonds: int = 3) -> list[tuple[int, int]]:
        """Pairs of non-hydrogen atoms that could bond to each other: not bonded, in no common ring, at least
        ``min_bonds`` bonds apart (or in different fragments), and at most ``max_distance_angstrom`` apart in the
        reference geometry: the two ends of a ring closure (C1···C6 of a hexatriene) or of a cycloaddition."""
        if not len(self.reference_angstrom):
            return []
        xyz = np.asarray(self.reference_angstrom, dtype=float)
        heavy = [i for i, s in enumerate(self.symbols) if s != "H"]
        adjacency = {i: self.neighbors(i) for i in range(len(self.symbols))}
        ring_sets = [set(r) for r in self.rings]
        out = []
        for i in heavy:
            hops = {i: 0}  # breadth-first bond counts from i, up to min_bonds - 1
            frontier = [i]
            for depth in range(1, min_bonds):
                frontier = [b for a in frontier for b in adjacency[a] if b not in hops]
                for b in frontier:
                    hops.setdefault(b, depth)
            for j in heavy:
                if j <= i or j in hops or any(i in r and j in r for r in ring_sets):
                    continue
                if np.linalg.norm(xyz[i] - xyz[j]) <= max_distance_angstrom:
                    out.append((i, j))
        return out

    def hydrogen_contacts(self, max_distance_angstrom: float = H_CONTACT_MAX_ANGSTROM) -> list[tuple[int, int]]:
        """Pairs (lower index first) of a hydrogen and a non-hydrogen atom it is not bonded to, at most
        ``max_distance_angstrom`` apart in the reference geometry: where a hydrogen can go in a transfer (the N of
        an O-H···N hydrogen bond, the neighbour of its own atom in a 1,2-shift) or to a solvent molecule."""
        if not len(self.reference_angstrom):
            return []
        xyz = np.asarray(self.reference_angstrom, dtype=float)
        hydrogens = [i for i, s in enumerate(self.symbols) if s == "H"]
        heavy = np.array([i for i, s in enumerate(self.symbols) if s != "H"], dtype=int)
        bonded = {(min(a, b), max(a, b)) for a, b in self.bonds}
        out = []
        for h in hydrogens:
            near = heavy[np.linalg.norm(xyz[heavy] - xyz[h], axis=1) <= max_distance_angstrom] if len(heavy) else heavy
            out += [(min(h, int(x)), max(h, int(x))) for x in near if (min(h, int(x)), max(h, int(x))) not in bonded]
        return sorted(out)

    def fragments(self) -> list[int]:
        """Connected component (0, 1, ...; in order of first atom) of every atom: the molecules of a dimer or a
        microsolvated cluster."""
        return fragment_labels(len(self.symbols), self.bonds)

    def substituents(self) -> list[tuple[int, int, int]]:
        """(ring_index, ring_atom, substituent_atom) for every bond leaving a ring."""
        out = []
        for k, ring in enumerate(self.rings):
            members = set(ring)
            for atom in ring:
                for nb in self.neighbors(atom):
                    if nb not in members:
                        out.append((k, atom, nb))
        return out

    def _group(self, atom: int) -> tuple[str, str] | None:
        """(generic, numbered) names of the terminal group rooted at ``atom`` ('NH2', 'N8H2'; 'C=O', 'C4=O8'), or
        None where ``atom`` roots no such group."""
        sym, name = self.symbols[atom], self.names[atom]
        nbrs = self.neighbors(atom)
        n_h = sum(self.symbols[n] == "H" for n in nbrs)
        if sym != "H" and n_h and len(nbrs) == n_h + 1:
            count = n_h if n_h > 1 else ""
            return f"{sym}H{count}", f"{name}H{count}"
        if sym in ("O", "S") and len(nbrs) == 1:
            return f"{self.symbols[nbrs[0]]}={sym}", f"{self.names[nbrs[0]]}={name}"
        return None

    def group_name(self, atom: int) -> str:
        """Chemical name of the group rooted at ``atom`` seen from its ring: 'NH2', 'C=O', 'CH3'; numbered where
        the molecule has more than one such group ('N8H2', 'C4=O8': uracil's two carbonyls are two motions);
        else the atom name."""
        group = self._group(atom)
        if group is None:
            return self.names[atom]
        same = sum(1 for a in range(len(self.symbols)) if (g := self._group(a)) is not None and g[0] == group[0])
        return group[0] if same == 1 else group[1]

    def initial_geometry_angstrom(self) -> np.ndarray:
        """The ensemble's mean initial geometry (Å) when the topology holds it (symmetries were judged on it),
        else the reference geometry it was perceived from."""
        return np.asarray(self.symmetry_reference_angstrom or self.reference_angstrom, dtype=float)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | Path) -> "Topology":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["bonds"] = [tuple(b) for b in data["bonds"]]
        return cls(**data)


def guess_bonds_mdanalysis(symbols, coords_angstrom, fudge_factor: float = 0.55) -> list[tuple[int, int]]:
    """Bonds from MDAnalysis' ``DefaultGuesser``: distance < ``fudge_factor`` × (sum of van der Waals radii).

    More tolerant of the stretched bonds of Wigner-sampled initial geometries than 1.2 × covalent radii. An element
    MDAnalysis has no van der Waals radius for (most metals) gets none here: it bonds to nothing by this rule.
    """
    import warnings

    import MDAnalysis as mda
    from MDAnalysis.guesser.default_guesser import DefaultGuesser
    from MDAnalysis.guesser.tables import vdwradii

    universe = mda.Universe.empty(len(symbols), trajectory=True)
    universe.add_TopologyAttr("types", list(symbols))
    universe.add_TopologyAttr("elements", list(symbols))
    missing = {s.upper(): 0.0 for s in set(symbols) if s.upper() not in vdwradii}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        guesser = DefaultGuesser(universe, fudge_factor=fudge_factor, vdwradii=missing)
        found = guesser.guess_bonds(universe.atoms, np.asarray(coords_angstrom, dtype=np.float32))
    return sorted({tuple(sorted(int(v) for v in b)) for b in found})


def bond_cutoff_angstrom(symbol_a: str, symbol_b: str, scale: float = 1.2, method: str = "mdanalysis",
                         fudge_factor: float = 0.55) -> float:
    """The longest distance (Å) at which :func:`perceive_bonds` still draws a bond between these two elements:
    ``scale`` × the sum of covalent radii, and with ``method='mdanalysis'`` also ``fudge_factor`` × the sum of
    MDAnalysis' van der Waals radii (an element without one: the covalent rule alone)."""
    covalent = scale * (COVALENT_RADII_ANGSTROM.get(symbol_a, 1.5) + COVALENT_RADII_ANGSTROM.get(symbol_b, 1.5))
    if method != "mdanalysis":
        return covalent
    from MDAnalysis.guesser.tables import vdwradii

    a, b = vdwradii.get(symbol_a.upper()), vdwradii.get(symbol_b.upper())
    return max(covalent, fudge_factor * (a + b)) if a is not None and b is not None else covalent


def cutoff_matrix(symbols) -> np.ndarray:
    """(n_atoms, n_atoms) :func:`bond_cutoff_angstrom` of every pair of atoms."""
    kinds = sorted(set(symbols))
    table = np.array([[bond_cutoff_angstrom(a, b) for b in kinds] for a in kinds], dtype=float).reshape(len(kinds), len(kinds))
    index = np.array([kinds.index(s) for s in symbols], dtype=int) if len(symbols) else np.zeros(0, dtype=int)
    return table[np.ix_(index, index)]


def distance_matrix(coords_angstrom) -> np.ndarray:
    """Pairwise distances (…, n_atoms, n_atoms) of geometries (…, n_atoms, 3)."""
    xyz = np.asarray(coords_angstrom, dtype=float)
    return np.linalg.norm(xyz[..., :, None, :] - xyz[..., None, :, :], axis=-1)


def mean_distance_matrix(coords_angstrom, max_bytes: float = 2e8) -> np.ndarray:
    """Mean over frames of :func:`distance_matrix` (n_atoms, n_atoms) of geometries (n_frames, n_atoms, 3), computed a
    block of frames at a time so the temporaries stay near ``max_bytes`` (100 frames of a 913-atom system at once
    took 2.4 GB)."""
    xyz = np.asarray(coords_angstrom, dtype=float)
    n = xyz.shape[-2]
    step = max(1, int(max_bytes // (32 * n * n)))
    total = np.zeros((n, n))
    for lo in range(0, len(xyz), step):
        total += distance_matrix(xyz[lo:lo + step]).sum(axis=0)
    return total / max(len(xyz), 1)


def bond_change_masks(distances_angstrom: np.ndarray, reference: np.ndarray, symbols, bonds) -> tuple[np.ndarray, np.ndarray]:
    """(broken, formed) boolean masks (…, n_atoms, n_atoms), upper triangle only, of geometries given by their
    pairwise distances (…, n_atoms, n_atoms) against ``reference`` (n_atoms, 3, Å), judged by the bond cutoff of
    the perception (:func:`bond_cutoff_angstrom`), as the motion words are: a bond of ``bonds`` within its cutoff
    in ``reference`` and past it now is broken; a pair that is not a bond, past its cutoff in ``reference`` and
    within it now, is formed."""
    n = len(symbols)
    cutoff, d_ref = cutoff_matrix(symbols), distance_matrix(reference)
    bonded = np.zeros((n, n), dtype=bool)
    for i, j in bonds:
        bonded[i, j] = bonded[j, i] = True
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    d_now = np.asarray(distances_angstrom, dtype=float)
    broken = upper & bonded & (d_ref <= cutoff) & (d_now > cutoff)
    formed = upper & ~bonded & (d_ref > cutoff) & (d_now <= cutoff)
    return broken, formed


def bond_changes(coords: np.ndarray, reference: np.ndarray, symbols, bonds) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(broken, formed) atom pairs (i < j) of one geometry ``coords`` against ``reference`` (n_atoms, 3, Å):
    :func:`bond_change_masks`."""
    broken, formed = bond_change_masks(distance_matrix(coords), reference, symbols, bonds)
    return [tuple(int(v) for v in p) for p in np.argwhere(broken)], [tuple(int(v) for v in p) for p in np.argwhere(formed)]


def perceive_bonds(symbols, coords_angstrom, scale: float = 1.2, method: str = "covalent") -> list[tuple[int, int]]:
    """Bonds of one geometry.

    ``method='covalent'``: distance below ``scale`` × (sum of covalent radii, Cordero 2008).
    ``method='mdanalysis'``: MDAnalysis' guesser (van der Waals radii × 0.55, :func:`guess_bonds_mdanalysis`), and
    the covalent rule too: the van der Waals rule misses long bonds between heavy atoms (S–S 2.05 Å, C–I 2.14 Å,
    Si–Si, P–P) and every bond of a metal it has no radius for (Fe–C 1.8 Å). For H, C, N, O the covalent rule is the
    stricter one, so it adds nothing there.
    """
    if method == "mdanalysis":
        return sorted(set(guess_bonds_mdanalysis(symbols, coords_angstrom)) | set(perceive_bonds(symbols, coords_angstrom, scale)))
    if method != "covalent":
        raise ValueError(f"bond perception method {method!r}: expected 'mdanalysis' or 'covalent'")
    from scipy.spatial import cKDTree

    radii = np.array([COVALENT_RADII_ANGSTROM.get(s, 1.5) for s in symbols])
    xyz = np.asarray(coords_angstrom, dtype=float)
    if len(xyz) < 2:
        return []
    # candidate pairs within the longest cutoff from a k-d tree (a 10,000-atom QM/MM system: no 10^8-pair matrix)
    pairs = cKDTree(xyz).query_pairs(scale * 2 * radii.max(), output_type="ndarray")
    if not len(pairs):
        return []
    pairs = np.sort(pairs, axis=1)
    d = np.linalg.norm(xyz[pairs[:, 0]] - xyz[pairs[:, 1]], axis=1)
    pairs = pairs[d < scale * (radii[pairs[:, 0]] + radii[pairs[:, 1]])]
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]  # in index order, as the full matrix's argwhere gave them
    return [(int(a), int(b)) for a, b in pairs]


def consensus_bonds(symbols, frames_angstrom, scale: float = 1.2, method: str = "mdanalysis") -> list[tuple[int, int]]:
    """Bonds perceived in more than half of the geometries ``frames_angstrom`` (n_frames, n_atoms, 3): one frame
    under thermal noise can stretch a bond past the guesser's cutoff (a thiophene S1-C5 at 1.5x thermal noise: no
    ring, and no symmetry, from that frame) or bring two atoms within it."""
    per_frame = [perceive_bonds(symbols, xyz, scale, method=method) for xyz in frames_angstrom]
    votes: dict[tuple[int, int], int] = {}
    for bonds in per_frame:
        for a, b in bonds:
            key = (min(int(a), int(b)), max(int(a), int(b)))
            votes[key] = votes.get(key, 0) + 1
    kept = {bond for bond, count in votes.items() if 2 * count > len(per_frame)}
    # in the first frame's order (where the frames agree, the topology is the first frame's exactly), the others after
    first = [tuple(b) for b in per_frame[0] if (min(b), max(b)) in kept] if per_frame else []
    return first + sorted(kept - {(min(b), max(b)) for b in first})


def _shortest_path(adj, start, goal, banned_edge):
    prev = {start: None}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        if u == goal:
            break
        for v in adj[u]:
            if (min(u, v), max(u, v)) == banned_edge or v in prev:
                continue
            prev[v] = u
            queue.append(v)
    if goal not in prev:
        return None
    path = [goal]
    while prev[path[-1]] is not None:
        path.append(prev[path[-1]])
    return path[::-1]


def _canonical_ring(ring):
    """Start at the lowest index, go towards its lower-index ring neighbour."""
    ring = list(ring)
    k = ring.index(min(ring))
    ring = ring[k:] + ring[:k]
    if ring[-1] < ring[1]:
        ring = [ring[0]] + ring[1:][::-1]
    return ring


def perceive_rings(n_atoms: int, bonds, min_size: int = 3, max_size: int = 8) -> list[list[int]]:
    """Smallest set of smallest rings (a minimum cycle basis over GF(2), sizes min_size–max_size)."""
    adj = {i: set() for i in range(n_atoms)}
    for a, b in bonds:
        adj[a].add(b)
        adj[b].add(a)
    edges = sorted((min(a, b), max(a, b)) for a, b in bonds)
    edge_index = {e: i for i, e in enumerate(edges)}
    candidates = {}
    for a, b in edges:
        path = _shortest_path(adj, a, b, (a, b))
        if path and min_size <= len(path) <= max_size:
            key = frozenset(path)
            candidates.setdefault(key, path)
    # number of independent cycles
    seen, components = set(), 0
    for s in range(n_atoms):
        if s in seen:
            continue
        components += 1
        stack = [s]
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            stack.extend(adj[u] - seen)
    n_cycles = len(edges) - n_atoms + components
    basis, rings = [], []
    for path in sorted(candidates.values(), key=len):
        vec = 0
        for u, v in zip(path, path[1:] + path[:1]):
            vec |= 1 << edge_index[(min(u, v), max(u, v))]
        reduced = vec
        for b in basis:
            reduced = min(reduced, reduced ^ b)
        if reduced:
            basis.append(reduced)
            basis.sort(reverse=True)
            rings.append(_canonical_ring(path))
        if len(rings) == n_cycles:
            break
    return sorted(rings, key=lambda r: (min(r), len(r)))


def perceive_topology(symbols, coords_angstrom, atom_names=None, bond_scale: float = 1.2,
                      bond_guesser: str = "mdanalysis", bonds=None, atom_numbers=None) -> Topology:
    """Topology from one reference geometry.

    Parameters
    ----------
    symbols : list of str
    coords_angstrom : (n_atoms, 3)
    atom_names : dict or list, optional
        User names (``{index1: "C5'"}`` 1-based, or a full list); default element + 1-based index.
    bond_scale : float
        Covalent-radius factor of the covalent rule (both guessers, see :func:`perceive_bonds`).
    bond_guesser : {'mdanalysis', 'covalent'}
        How bonds are perceived (see :func:`perceive_bonds`).
    bonds : list of (i, j), optional
        Bonds already perceived (e.g. :func:`consensus_bonds` over several frames); default: from this geometry.
    atom_numbers : list of int, optional
        1-based numbers of these atoms in the simulated system (names ``C17``…, and the keys of a dict
        ``atom_names``) when they are a part of it; default 1 … n.
    """
    numbers = [i + 1 for i in range(len(symbols))] if atom_numbers is None else [int(a) for a in atom_numbers]
    names = [f"{s}{k}" for s, k in zip(symbols, numbers)]
    if isinstance(atom_names, dict):
        position = {k: i for i, k in enumerate(numbers)}
        for k, v in atom_names.items():
            if int(k) in position:
                names[position[int(k)]] = str(v)
    elif atom_names:
        if len(atom_names) != len(symbols):
            raise ValueError(f"atom_names has {len(atom_names)} entries, the molecule has {len(symbols)} atoms")
        names = [str(n) for n in atom_names]
    if bonds is None:
        bonds = perceive_bonds(symbols, coords_angstrom, bond_scale, method=bond_guesser)
    rings = perceive_rings(len(symbols), bonds)
    return Topology(list(symbols), names, bonds, rings, np.asarray(coords_angstrom).round(6).tolist())
