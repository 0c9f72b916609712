"""Feature table from a trajectory and its topology: names say what and where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.features.conformers import conformer_labels
from analysis.features.geometry import (angles_am, atom_major, cremer_pople, dihedral_sin_cos_am, distances,
                                       distances_am, out_of_plane_am, pyramidalization_am)
from analysis.topology import Topology

DEFAULT_FAMILIES = ("bonds", "angles", "dihedrals", "pucker", "oop", "pyramidalization", "conformer", "contacts")
FAMILIES = DEFAULT_FAMILIES + ("bond_change",)

# Natural size of a "clearly visible" change per family, used to rank motions (see analysis.motions).
# An umbrella (the mean of a methyl's three X-C-H angles) ranks at 10°/√3: when the three angles close together it
# outranks each of them (10° each: 1.73 against 1.0), when one closes alone (mean 3.3°) that angle outranks it (0.58).
FAMILY_SCALE = {"bond": 0.1, "angle": 10.0, "dihedral_sin": 1.0, "dihedral_cos": 1.0, "pucker_z": 0.1, "oop": 10.0,
                "pyr": 10.0, "umbrella": 10.0 / np.sqrt(3.0), "contact": 0.1, "fragment_contact": 0.1}
# Families whose columns are not numbers (kept in the tables, never given to PCA or the motion ranking)
LABEL_FAMILIES = ("conformer",)
# Families that name motions but are not clustered on: a contact distance (two atoms of one molecule that may bond)
# repeats what the angles and torsions between them already carry. A contact between two molecules
# (fragment_contact) is clustered on: nothing else says where the molecules of a dimer lie.
# An umbrella repeats its three angles.
NAMING_FAMILIES = ("contact", "umbrella")
CONTACT_FAMILIES = ("contact", "fragment_contact")


def featurize(coords_angstrom: np.ndarray, topology: Topology, families=DEFAULT_FAMILIES) -> pd.DataFrame:
    """Features for every frame at once.

    Parameters
    ----------
    coords_angstrom : ndarray (n_frames, n_atoms, 3)
    topology : Topology
    families : iterable of {'bonds', 'bond_change', 'angles', 'dihedrals', 'pucker', 'conformer', 'oop',
        'pyramidalization', 'contacts'}

    Returns
    -------
    DataFrame (n_frames, n_features). Columns: ``bond[C1-N6]`` (Å), ``bond_change[C1-N6]`` (Å, minus the
    topology's reference geometry), ``angle[C1-N6-C5]`` (deg), ``dihedral_sin[...]``/``dihedral_cos[...]``,
    ``pucker_Q[ring1]`` (Å), ``pucker_theta[ring1]``, ``pucker_phi[ring1]`` (deg), ``pucker_z[C6:ring1]`` (Å),
    ``conformer[ring1]`` (str, e.g. ``chair ¹C₄``), ``oop[N8:ring1]`` (deg, signed), ``pyr[N8]`` (deg, signed
    pyramidalization of every three-coordinated atom), ``umbrella[C1]`` (deg, the mean of the three X-C1-H angles of a
    CH3-like group, :func:`umbrella_groups`: 109.5° tetrahedral, 90° flat; naming only), ``contact[C1-C6]`` (Å, distance of two heavy atoms of one
    molecule that may bond, :meth:`Topology.contacts`, or of a hydrogen and a heavy atom near it,
    :meth:`Topology.hydrogen_contacts`; for naming only, see :func:`clustering_columns`) and
    ``fragment_contact[C1-C7]`` (two heavy atoms of two molecules, clustered on).
    """
    coords = np.asarray(coords_angstrom, dtype=float)
    if coords.ndim == 2:
        coords = coords[None]
    families = set(families)
    unknown = families - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}; known: {list(FAMILIES)}")
    # Blocks of frames keep the temporaries in cache (≈2× faster than one pass over 200k frames); numeric
    # columns go straight into one preallocated (n_frames, k) array, label columns (conformers) at the end.
    n_frames = len(coords)
    numeric = labels = out = None
    label_parts: dict[str, list] = {}
    for start in range(0, n_frames, CHUNK_FRAMES):
        block = _feature_block(coords[start:start + CHUNK_FRAMES], topology, families)
        if out is None:
            numeric = [k for k, v in block.items() if v.dtype.kind == "f"]
            labels = [k for k in block if k not in numeric]
            out = np.empty((n_frames, len(numeric)))
            label_parts = {k: [] for k in labels}
        stop = start + len(next(iter(block.values()))) if block else start
        for j, name in enumerate(numeric):
            out[start:stop, j] = block[name]
        for name in labels:
            label_parts[name].append(block[name])
    if out is None:
        return pd.DataFrame(index=range(n_frames))
    frame = pd.DataFrame(out, columns=numeric, copy=False)
    for name in labels:
        frame[name] = np.concatenate(label_parts[name])
    return frame


CHUNK_FRAMES = 8192


def _feature_block(coords: np.ndarray, topology: Topology, families: set) -> dict:
    names = topology.names
    cols: dict[str, np.ndarray] = {}
    xam = atom_major(coords)  # (n_atoms, 3, n_frames): contiguous per-atom rows for the internal coordinates
    if families & {"bonds", "bond_change"} and topology.bonds:
        b = np.array(topology.bonds)
        vals = distances_am(xam, b)
        if "bonds" in families:
            for k, (i, j) in enumerate(b):
                cols[f"bond[{names[i]}-{names[j]}]"] = vals[k]
        if "bond_change" in families:
            ref = distances(np.asarray(topology.reference_angstrom, dtype=float), b)
            for k, (i, j) in enumerate(b):
                cols[f"bond_change[{names[i]}-{names[j]}]"] = vals[k] - ref[k]
    if "angles" in families:
        t = np.array(topology.angles()).reshape(-1, 3)
        if len(t):
            vals = angles_am(xam, t)
            for k, (i, j, m) in enumerate(t):
                cols[f"angle[{names[i]}-{names[j]}-{names[m]}]"] = vals[k]
    if "dihedrals" in families:
        q = np.array(topology.dihedrals()).reshape(-1, 4)
        if len(q):
            sin, cos = dihedral_sin_cos_am(xam, q)
            for k, quad in enumerate(q):
                label = "-".join(names[i] for i in quad)
                cols[f"dihedral_sin[{label}]"] = sin[k]
                cols[f"dihedral_cos[{label}]"] = cos[k]
    if families & {"pucker", "conformer"}:
        for r, ring in enumerate(topology.rings, start=1):
            if len(ring) not in (5, 6):
                continue
            cp = cremer_pople(coords, ring)
            if "pucker" in families:
                cols[f"pucker_Q[ring{r}]"] = cp["Q"]
                if len(ring) == 6:
                    cols[f"pucker_theta[ring{r}]"] = cp["theta"]
                cols[f"pucker_phi[ring{r}]"] = cp["phi"]
                for k, atom in enumerate(ring):
                    cols[f"pucker_z[{names[atom]}:ring{r}]"] = cp["z"][:, k]
            if "conformer" in families:
                cols[f"conformer[ring{r}]"] = conformer_labels(cp, [names[a] for a in ring])
    if "oop" in families:
        subs = topology.substituents()
        for r, ring in enumerate(topology.rings):
            mine = [(anchor, atom) for k, anchor, atom in subs if k == r]
            if mine:
                vals = out_of_plane_am(xam, ring, [a for a, _ in mine], [b for _, b in mine])
                for k, (_, atom) in enumerate(mine):
                    cols[f"oop[{names[atom]}:ring{r + 1}]"] = vals[k]
    if "contacts" in families:
        fragment = topology.fragments()
        heavy, hydrogen = topology.contacts(), topology.hydrogen_contacts()
        # a hydrogen and the heavy atoms near it: naming only, also between molecules (a hydrogen bond's length
        # says nothing about where the molecules lie, and fluctuates with every vibration)
        family = ["contact" if fragment[i] == fragment[j] else "fragment_contact" for i, j in heavy] + ["contact"] * len(hydrogen)
        pairs = np.array(heavy + hydrogen).reshape(-1, 2)
        if len(pairs):
            vals = distances_am(xam, pairs)
            for k, (i, j) in enumerate(pairs):
                cols[f"{family[k]}[{names[i]}-{names[j]}]"] = vals[k]
    if "pyramidalization" in families:
        centers = [a for a in range(len(names)) if len(topology.neighbors(a)) == 3]
        if centers:
            vals = pyramidalization_am(xam, centers, [topology.neighbors(a) for a in centers])
            for k, atom in enumerate(centers):
                cols[f"pyr[{names[atom]}]"] = vals[k]
        groups = umbrella_groups(topology)
        if groups:
            vals = angles_am(xam, np.array([(axis, centre, h) for centre, axis, hs in groups for h in hs]))
            for k, (centre, _, _) in enumerate(groups):
                cols[f"umbrella[{names[centre]}]"] = vals[3 * k:3 * k + 3].mean(axis=0)
    return cols


def umbrella_groups(topology: Topology) -> list[tuple[int, int, list[int]]]:
    """(centre, axis atom, its three hydrogens) of every four-coordinated atom bonded to exactly three terminal
    hydrogens (CH3, NH3+, SiH3) and one other atom, the axis of its umbrella."""
    out = []
    for atom, symbol in enumerate(topology.symbols):
        neighbours = topology.neighbors(atom)
        hydrogens = [n for n in neighbours if topology.symbols[n] == "H" and len(topology.neighbors(n)) == 1]
        if symbol != "H" and len(neighbours) == 4 and len(hydrogens) == 3:
            out.append((atom, next(n for n in neighbours if n not in hydrogens), hydrogens))
    return out


def feature_family(column: str) -> str:
    """'bond[C1-N6]' -> 'bond'."""
    return column.split("[", 1)[0]


def family_scale(columns) -> np.ndarray:
    """Natural unit (:data:`FAMILY_SCALE`) of each feature column; 1 for a family without one."""
    return np.array([FAMILY_SCALE.get(feature_family(c), 1.0) for c in columns])


def clustering_columns(columns) -> list[str]:
    """Columns fit for PCA/clustering: numbers only, without periodic or ill-defined descriptors (θ, φ; Q is
    kept), labels, or the columns kept for naming only (:data:`NAMING_FAMILIES`)."""
    return [c for c in columns if feature_family(c) not in ("pucker_theta", "pucker_phi", *LABEL_FAMILIES, *NAMING_FAMILIES)]
