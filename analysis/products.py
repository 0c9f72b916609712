"""What each trajectory ends as: the bonds broken or formed, and the double bonds isomerized, at its last analysed
frames, against the Franck–Condon geometry.

A channel says how a trajectory left the excited state; the product says where it went. Each trajectory's end is
read from its last ``window_fs`` analysed (a hot molecule's bond vibrates across its cutoff; the mean does not):

- its pairwise distances averaged there, judged by the perception's own bond cutoff against the FC geometry
  (:func:`analysis.topology.bond_change_masks`): 'C1-C6 broken (ring opening)', 'C1-C6 formed';
- the torsion about each double bond that can isomerize (:func:`isomerizable_torsions`), its cosine averaged
  there: past ``ISOMERIZED_COS`` on the other side of 90° from the FC geometry it is 'C2=C3 cis→trans (C1, C4)'
  (cis and trans of the two named substituents); a torsion left near 90° has not decided.

'FC bonding' when nothing changed. Symmetry-equivalent outcomes are one product (the topology's symmetries, as
for the channels). A trajectory QC cut short ends where it was cut: it is flagged ``truncated``, its end there may
be a moment of a reaction rather than its product.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.elements import ATOMIC_NUMBERS, COVALENT_RADII_ANGSTROM, hill_formula
from analysis.io.paths import natural_key
from analysis.io.store import Store
from analysis.topology import Topology, bond_change_masks, cutoff_matrix, mean_distance_matrix

WINDOW_FS = 20.0
CHUNK = 256  # trajectories judged at once, at most ...
CHUNK_BYTES = 5e8  # ... and at most as many as their final distance matrices fit in this
FC_BONDING = "FC bonding"
DOUBLE_BOND_FRACTION = 0.92  # a bond shorter than this fraction of its covalent radii sum at FC is a multiple bond
ISOMERIZED_COS = 0.3  # |cos| of the final torsion past which it is on a side (cis |φ| < 73°, trans |φ| > 107°)
PRODUCT_COLUMNS = ["trajectory_id", "end_time_fs", "truncated", "product", "broken", "formed", "isomerized",
                   "formed_at_fs"]  # the report adds final_label


def _reference_substituent(topology: Topology, atom: int, partner: int) -> int | None:
    """The substituent of ``atom`` (besides ``partner``) that names its side of a double bond: the heaviest (then the
    most connected); None where two substituents tie (a CH2 or C(CH3)2 end has no cis and trans)."""
    others = [n for n in topology.neighbors(atom) if n != partner]
    if not others:
        return None
    rank = {n: (ATOMIC_NUMBERS.get(topology.symbols[n], 0), len(topology.neighbors(n))) for n in others}
    best = max(others, key=lambda n: rank[n])
    return best if sum(rank[n] == rank[best] for n in others) == 1 else None


def isomerizable_torsions(topology: Topology) -> list[tuple[int, int, int, int]]:
    """(a, b, c, d) for every double bond b=c that can isomerize cis/trans: outside every ring, shorter at the FC
    geometry than :data:`DOUBLE_BOND_FRACTION` of its covalent radii sum (C=C 1.34, C=N 1.28, N=N 1.25 Å; single
    bonds between sp2 atoms, 1.45-1.48 Å, are conformational), each end with one or two other substituents of
    which one names its side (:func:`_reference_substituent`): a and d."""
    fc = np.asarray(topology.initial_geometry_angstrom(), dtype=float)
    if fc.shape != (len(topology.symbols), 3):  # a topology without its geometry: no bond length to judge
        return []
    rings = [set(r) for r in topology.rings]
    out = []
    for b, c in topology.bonds:
        if any({b, c} <= r for r in rings):
            continue
        radii = COVALENT_RADII_ANGSTROM.get(topology.symbols[b], 1.5) + COVALENT_RADII_ANGSTROM.get(topology.symbols[c], 1.5)
        if np.linalg.norm(fc[b] - fc[c]) >= DOUBLE_BOND_FRACTION * radii:
            continue
        if not all(1 <= len(topology.neighbors(x)) - 1 <= 2 for x in (b, c)):
            continue
        a, d = _reference_substituent(topology, b, c), _reference_substituent(topology, c, b)
        if a is not None and d is not None:
            out.append((a, b, c, d) if b < c else (d, c, b, a))
    return out


def torsion_cos(coords_angstrom: np.ndarray, quads) -> np.ndarray:
    """cos of the dihedral angle a-b-c-d (…, n_quads) of geometries (…, n_atoms, 3)."""
    xyz = np.asarray(coords_angstrom, dtype=float)
    q = np.asarray(quads, dtype=int).reshape(-1, 4)
    b0, b1, b2 = (xyz[..., q[:, 0], :] - xyz[..., q[:, 1], :], xyz[..., q[:, 2], :] - xyz[..., q[:, 1], :],
                  xyz[..., q[:, 3], :] - xyz[..., q[:, 2], :])
    axis = b1 / np.maximum(np.linalg.norm(b1, axis=-1, keepdims=True), 1e-12)
    v = b0 - (b0 * axis).sum(-1, keepdims=True) * axis
    w = b2 - (b2 * axis).sum(-1, keepdims=True) * axis
    return (v * w).sum(-1) / np.maximum(np.linalg.norm(v, axis=-1) * np.linalg.norm(w, axis=-1), 1e-12)


def canonical_changes(broken, formed, topology: Topology, isomerized=()) -> tuple[tuple, tuple, tuple]:
    """(broken, formed, isomerized) atom pairs mapped through the topology's symmetry permutations, the smallest
    form: two symmetry-equivalent ring openings are one product."""
    perms = [np.asarray(p, dtype=int) for p, _ in topology.symmetries] or [np.arange(len(topology.symbols))]

    def mapped(pairs, p):
        return tuple(sorted(tuple(sorted((int(p[i]), int(p[j])))) for i, j in pairs))

    return min((mapped(broken, p), mapped(formed, p), mapped(isomerized, p)) for p in perms)


def fragments(topology: Topology, broken=(), formed=()) -> list[list[int]]:
    """The connected pieces (atom indices, largest first, then by first atom) of the topology's bonds without
    ``broken`` and with ``formed`` (:meth:`Topology.fragments` of the changed bond list)."""
    drop = {tuple(sorted(map(int, b))) for b in broken}
    bonds = [b for b in topology.bonds if tuple(sorted(b)) not in drop] + [tuple(map(int, f)) for f in formed]
    label = np.asarray(replace(topology, bonds=bonds).fragments())
    pieces = [np.flatnonzero(label == k).tolist() for k in np.unique(label)]
    return sorted(pieces, key=lambda p: (-len(p), p[0]))


def product_words(broken, formed, topology: Topology, isomerized=()) -> str:
    """'C1-C6 broken (ring opening); H6-N5 formed; C2=C3 cis→trans (C1, C4)', or :data:`FC_BONDING` when nothing
    changed; two hydrogens that both left their atoms and bonded to each other are 'H6-H9 formed (H2
    elimination)'; a molecule that came apart names its pieces, 'fragments CH3 + I' (:func:`fragments`).
    ``isomerized``: double bonds (b, c) of :func:`isomerizable_torsions`."""
    names, symbols = topology.names, topology.symbols
    rings = [set(r) for r in topology.rings]
    left = {a for pair in broken for a in pair}
    words = [f"{names[i]}-{names[j]} broken" + (" (ring opening)" if any({i, j} <= r for r in rings) else "") for i, j in broken]
    words += [f"{names[i]}-{names[j]} formed" + (" (H2 elimination)" if symbols[i] == symbols[j] == "H" and {i, j} <= left else "")
              for i, j in formed]
    pieces = fragments(topology, broken, formed)
    if len(pieces) > len(fragments(topology)):  # the molecule came apart: name what it came apart into
        words.append("fragments " + " + ".join(hill_formula([symbols[a] for a in piece]) for piece in pieces))
    if len(isomerized):
        quads = {tuple(sorted((b, c))): (a, b, c, d) for a, b, c, d in isomerizable_torsions(topology)}
        fc = topology.initial_geometry_angstrom()
        for pair in isomerized:
            a, b, c, d = quads[tuple(sorted(pair))]
            cis = torsion_cos(fc, [(a, b, c, d)])[0] > 0
            words.append(f"{names[b]}={names[c]} {'cis→trans' if cis else 'trans→cis'} ({names[a]}, {names[d]})")
    return "; ".join(words) if words else FC_BONDING


def formation_time_fs(values: np.ndarray, time_fs: np.ndarray, thresholds: np.ndarray, above: np.ndarray,
                      window_fs: float = WINDOW_FS) -> float:
    """When a trajectory's product formed: the earliest time from which each of its changes (``values`` (n_frames,
    n_changes): a pair's distance in Å, or a torsion's cosine) stays, as the running median over ``window_fs``
    centred on each frame (a vibration across the threshold does not count; a clean step is dated exactly), on
    the product's side of its threshold (``above`` it, or at or below it) to the end: a bond that broke, re-formed
    and broke again counts from its last breaking. NaN when that is never so."""
    from scipy.ndimage import median_filter

    d = np.asarray(values, dtype=float)
    time_fs = np.asarray(time_fs, dtype=float)
    if not len(time_fs) or not d.shape[1]:
        return float("nan")
    dt = float(np.median(np.diff(time_fs))) if len(time_fs) > 1 else 1.0
    half = max(0, int(round(window_fs / 2 / max(dt, 1e-9))))
    smooth = median_filter(d, size=(2 * half + 1, 1), mode="nearest")
    on_side = np.where(np.asarray(above, dtype=bool), smooth > thresholds, smooth <= thresholds).all(axis=1)
    if not on_side[-1]:
        return float("nan")
    off = np.flatnonzero(~on_side)
    return float(time_fs[off[-1] + 1] if len(off) else time_fs[0])


def trajectory_products(store_paths, usable: dict[str, int], topology: Topology, truncated=(),
                        window_fs: float = WINDOW_FS) -> pd.DataFrame:
    """One row per analysed trajectory (:data:`PRODUCT_COLUMNS`): its end time, whether QC ``truncated`` it, and
    its product (:func:`product_words` of :func:`canonical_changes`); ``usable`` is
    :func:`analysis.io.store.usable_frames`. Only the last frames of each trajectory are read; their bonding is
    judged :data:`CHUNK` trajectories at a time."""
    fc, names, truncated = topology.initial_geometry_angstrom(), topology.names, set(truncated)
    quads = isomerizable_torsions(topology)
    fc_side = np.sign(torsion_cos(fc, quads)) if quads else np.zeros(0)
    rows, pending = [], []  # pending: (trajectory id, end time, final distances, final torsion cosines) not yet judged
    # fewer at once for a large system: each holds an n_atoms² distance matrix (3,000 atoms: 72 MB)
    chunk = max(1, min(CHUNK, int(CHUNK_BYTES // (8 * max(len(topology.symbols), 1) ** 2))))

    def judge():
        broken, formed = bond_change_masks(np.stack([p[2] for p in pending]), fc, topology.symbols, topology.bonds)
        for k, (tid, end_fs, _, cos_end) in enumerate(pending):
            own_broken, own_formed = np.argwhere(broken[k]), np.argwhere(formed[k])  # in the trajectory's own labels
            flipped = [quads[q] for q in np.flatnonzero(fc_side * cos_end < -ISOMERIZED_COS)]
            b, f, i = canonical_changes([tuple(p) for p in own_broken], [tuple(p) for p in own_formed], topology,
                                        [(q[1], q[2]) for q in flipped])
            rows.append({"trajectory_id": tid, "end_time_fs": end_fs, "truncated": tid in truncated,
                         "product": product_words(b, f, topology, i), "broken": " ".join(f"{names[x]}-{names[y]}" for x, y in b),
                         "formed": " ".join(f"{names[x]}-{names[y]}" for x, y in f),
                         "isomerized": " ".join(f"{names[x]}={names[y]}" for x, y in i), "formed_at_fs": np.nan,
                         "_pairs": np.vstack([own_broken, own_formed]).astype(int).reshape(-1, 2),
                         "_broken": np.r_[np.ones(len(own_broken), bool), np.zeros(len(own_formed), bool)],
                         "_flipped": [(q, fc_side[quads.index(q)]) for q in flipped]})
        pending.clear()

    for path in store_paths:
        with Store(path, topology.selection()) as store:
            for tid in sorted(set(store.ids) & set(usable)):
                n = int(usable[tid])
                if n < 1 or len(store.meta[tid]["symbols"]) != len(topology.symbols):
                    continue
                time_fs = store.array(tid, "time_fs")[:n]
                last = np.flatnonzero(time_fs >= time_fs[-1] - window_fs)
                xyz = store.rows(tid, "coords_angstrom", last)  # the last window_fs only
                pending.append((tid, float(time_fs[-1]), mean_distance_matrix(xyz),
                                torsion_cos(xyz, quads).mean(axis=0) if quads else np.zeros(0)))
                if len(pending) >= chunk:
                    judge()
    if pending:
        judge()
    _add_formation_times(rows, store_paths, usable, topology, window_fs)
    table = pd.DataFrame(rows, columns=PRODUCT_COLUMNS)
    return table.sort_values("trajectory_id", key=lambda ids: ids.map(natural_key), kind="stable").reset_index(drop=True)


def wilson_interval(k, n, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval (percent) of a share of ``k`` out of ``n`` trajectories: the interval a yield from
    a handful of trajectories deserves (2 of 3: 21–94 %), never outside 0–100 %."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return 100.0 * np.clip(centre - half, 0, 1), 100.0 * np.clip(centre + half, 0, 1)


def _add_formation_times(rows: list[dict], store_paths, usable: dict[str, int], topology: Topology, window_fs: float) -> None:
    """Fill ``formed_at_fs`` (:func:`formation_time_fs`) of every row whose trajectory changed its bonding or
    isomerized, reading its coordinates once more; drop the rows' private change columns."""
    cutoff = cutoff_matrix(topology.symbols)
    todo = {r["trajectory_id"]: r for r in rows if len(r["_pairs"]) or r["_flipped"]}
    for path in store_paths:
        with Store(path, topology.selection()) as store:
            for tid in sorted(set(store.ids) & set(todo)):
                row, n = todo[tid], int(usable[tid])
                pairs, flipped = row["_pairs"], row["_flipped"]
                xyz = store.array(tid, "coords_angstrom")[:n]
                # a distance past its cutoff (broken) or within it (formed); a torsion's cosine, times its FC side,
                # at or below -ISOMERIZED_COS (isomerized)
                values = [np.linalg.norm(xyz[:, pairs[:, 0]] - xyz[:, pairs[:, 1]], axis=-1)]
                thresholds, above = [cutoff[pairs[:, 0], pairs[:, 1]]], [row["_broken"]]
                if flipped:
                    values.append(torsion_cos(xyz, [q for q, _ in flipped]) * np.array([side for _, side in flipped]))
                    thresholds.append(np.full(len(flipped), -ISOMERIZED_COS))
                    above.append(np.zeros(len(flipped), bool))
                row["formed_at_fs"] = formation_time_fs(np.hstack(values), store.array(tid, "time_fs")[:n], np.concatenate(thresholds),
                                                        np.concatenate(above), window_fs)
    for r in rows:
        r.pop("_pairs"), r.pop("_broken"), r.pop("_flipped")


def product_shares(products: pd.DataFrame) -> pd.DataFrame:
    """Per product: trajectories, percent of the analysed ones with its 95 % Wilson interval (``percent_lo``,
    ``percent_hi``: :func:`wilson_interval`), how many of them QC truncated (their ends are where the checks
    failed, not where the dynamics ended), the median time it formed (:func:`formation_time_fs`) and, given a ``final_label`` column, the states they end in ('S0 12,
    S1 3': a product still in S1 has not decayed yet); most frequent first."""
    columns = ["product", "trajectories", "percent", "percent_lo", "percent_hi", "truncated", "formed_at_fs_median"] + (
        ["final states"] if "final_label" in products else [])
    if not len(products):
        return pd.DataFrame(columns=columns)
    g = products.groupby("product").agg(trajectories=("trajectory_id", "size"), truncated=("truncated", "sum"),
                                        formed_at_fs_median=("formed_at_fs", "median")).reset_index()
    g["percent"] = 100.0 * g["trajectories"] / len(products)
    g["percent_lo"], g["percent_hi"] = wilson_interval(g["trajectories"], len(products))
    g["truncated"] = g["truncated"].astype(int)
    if "final_label" in products:
        states = products.groupby("product")["final_label"].agg(_counted)
        g["final states"] = g["product"].map(states)
    return g.sort_values(["trajectories", "product"], ascending=[False, True])[columns].reset_index(drop=True)


def _counted(values: pd.Series) -> str:
    """'S0 12, S1 3': each value with its count, most frequent first (ties: by name)."""
    counts = values.fillna("?").astype(str).value_counts()
    return ", ".join(f"{v} {n}" for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def channel_products(assignments: pd.DataFrame, products: pd.DataFrame) -> dict[str, str]:
    """Channel → its trajectories' products, most frequent first ('C1-C6 broken (ring opening) 3, FC bonding 1')."""
    if products is None or not len(products) or not len(assignments):
        return {}
    merged = assignments[["trajectory_id", "channel"]].drop_duplicates().merge(products[["trajectory_id", "product"]], on="trajectory_id")
    out = {}
    for channel, group in merged.groupby("channel", sort=True):
        out[str(channel)] = _counted(group["product"])
    return out
