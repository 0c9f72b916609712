"""Which atoms of the simulated system are analysed: all of them, a user's list, or all but the solvent.

A QM/MM run (Newton-X, SHARC) writes every atom: a chromophore and hundreds of water molecules. Analysed whole,
the solvent's bonds and angles swamp the features, its motion names channels ("O77-H79 compression"), its
graph automorphisms swamp the symmetry search, and the surrogate's inverse distances grow as the square of the
atom count (103 atoms: 5,253 descriptors, 420 s and 5.4 GB for 40 trajectories). The analysed atoms are chosen
once, on the topology's reference geometry (``features.atoms``), stored with the topology, and every job that
reads coordinates reads those atoms (:class:`AtomSelection`, :class:`analysis.io.store.Store`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SOLVENT_MIN_COPIES = 10  # one small molecule this many times over is solvent (a microsolvated cluster has fewer)
SOLVENT_MAX_ATOMS = 20  # the largest molecule taken for solvent (water 3, acetonitrile 6, DMSO 10, cyclohexane 18)
COUNTER_IONS = frozenset({"Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "F", "Cl", "Br", "I"})  # lone atoms beside a solvent


@dataclass(frozen=True)
class AtomSelection:
    """The analysed atoms of a system: ``atoms`` (0-based indices in file order) of the atoms ``system_symbols``.

    Applies to a trajectory whose atoms are exactly ``system_symbols``; one with other atoms is left as it is
    (the jobs' own atom checks report it)."""

    system_symbols: tuple
    atoms: tuple

    def applies(self, symbols) -> bool:
        return tuple(symbols) == self.system_symbols

    def symbols(self) -> list[str]:
        return [self.system_symbols[i] for i in self.atoms]

    def to_record(self) -> dict:
        """``{"atoms": [...], "system_symbols": [...]}``: how topology.json and model.json store it."""
        return {"atoms": [int(a) for a in self.atoms], "system_symbols": list(self.system_symbols)}

    @classmethod
    def from_record(cls, record) -> "AtomSelection | None":
        """The selection a :meth:`to_record` dict (or any mapping with those keys) holds; None when it has no atoms
        (every atom is analysed)."""
        if not record or not record.get("atoms"):
            return None
        return cls(tuple(record["system_symbols"]), tuple(int(a) for a in record["atoms"]))


def parse_atom_list(spec: str, n_atoms: int, key: str = "features.atoms") -> list[int]:
    """0-based indices from a 1-based list of atoms and ranges as chemistry programs number them ('1-16,20').

    Raises
    ------
    ValueError
        Naming ``key``, the offending item and the system's atom count.
    """
    out: list[int] = []
    for item in re.split(r"[,\s]+", str(spec).strip()):
        if not item:
            continue
        found = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not found:
            raise ValueError(f"{key}: {item!r} is not an atom number or range (expected e.g. '1-16,20', 1-based)")
        lo, hi = int(found[1]), int(found[2] or found[1])
        if lo < 1 or hi > n_atoms or lo > hi:
            raise ValueError(f"{key}: {item!r} is outside atoms 1-{n_atoms} of the system (1-based, low-high)")
        out.extend(range(lo - 1, hi))
    if not out:
        raise ValueError(f"{key}: {spec!r} names no atom")
    return sorted(set(out))


def fragment_labels(n_atoms: int, bonds) -> list[int]:
    """Connected component (0, 1, … in order of first atom) of every atom of the graph of ``bonds`` (pairs): the
    molecules of a system, or, given symmetry images as pairs, the sets of equivalent atoms."""
    parent = list(range(n_atoms))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in bonds:
        parent[root(a)] = root(b)
    first: dict[int, int] = {}
    return [first.setdefault(root(i), len(first)) for i in range(n_atoms)]


def solvent_atoms(symbols, bonds, min_copies: int = SOLVENT_MIN_COPIES, max_atoms: int = SOLVENT_MAX_ATOMS) -> list[int]:
    """Atoms of the solvent: every molecule (bonded fragment) of at most ``max_atoms`` atoms whose formula occurs at
    least ``min_copies`` times; a fragment whose formula is a whole multiple of such a molecule's (two waters
    whose hydrogens came within the bond guesser's reach in the reference frame: H4O2); and, beside such a
    solvent, lone counter-ions (:data:`COUNTER_IONS`). Empty when nothing else would remain (a cluster of one kind
    of molecule is the subject, not its solvent)."""
    labels = fragment_labels(len(symbols), bonds)
    members: dict[int, list[int]] = {}
    for atom, frag in enumerate(labels):
        members.setdefault(frag, []).append(atom)
    formula = {frag: Counter(symbols[a] for a in atoms) for frag, atoms in members.items()}
    copies = Counter(tuple(sorted(f.items())) for f in formula.values())
    kinds = [dict(k) for k, n in copies.items() if n >= min_copies and sum(c for _, c in k) <= max_atoms]

    def is_solvent(f: Counter) -> bool:
        for kind in kinds:
            k = f[next(iter(kind))] // kind[next(iter(kind))]
            if k >= 1 and set(f) == set(kind) and all(f[e] == k * n for e, n in kind.items()):
                return True
        return False

    solvent = {frag for frag, f in formula.items() if is_solvent(f)}
    if solvent:
        solvent |= {frag for frag, atoms in members.items() if len(atoms) == 1 and symbols[atoms[0]] in COUNTER_IONS}
    out = sorted(a for frag in solvent for a in members[frag])
    return [] if len(out) == len(symbols) else out


def analysed_atoms(spec, symbols, bonds) -> tuple[list[int], str]:
    """(0-based analysed atoms, a sentence saying why) for ``features.atoms`` = ``spec``: 'all', 'auto' (all but the
    solvent, :func:`solvent_atoms`) or a 1-based list ('1-16,20', :func:`parse_atom_list`)."""
    n = len(symbols)
    spec = "all" if spec is None else spec
    if isinstance(spec, (list, tuple)):
        spec = ",".join(str(int(a)) for a in spec)
    spec = str(spec).strip()
    if spec == "all":
        return list(range(n)), f"all {n} atoms"
    if spec == "auto":
        solvent = set(solvent_atoms(symbols, bonds))
        if not solvent:
            return list(range(n)), f"all {n} atoms (no solvent found)"
        kept = [i for i in range(n) if i not in solvent]
        formula = Counter(symbols[i] for i in solvent)
        return kept, (f"{len(kept)} of {n} atoms: {len(solvent)} solvent atoms left out "
                      f"({' '.join(f'{s}{c}' for s, c in sorted(formula.items()))}; features.atoms: all keeps them)")
    kept = parse_atom_list(spec, n)
    return kept, f"{len(kept)} of {n} atoms (features.atoms: {spec})"
