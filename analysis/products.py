"""What each trajectory ends as: the bonds broken or formed at its last analysed frames, against the FC geometry.

A channel says how a trajectory left the excited state; the product says where it went. Each trajectory's
bonding at its end is read from its distances averaged over the last ``window_fs`` analysed (a hot molecule's
bond vibrates across its cutoff; the mean does not), judged by the perception's own bond cutoff against the
Franck–Condon geometry (:func:`analysis.topology.bond_changes`): 'C1-C6 broken (ring opening)', 'C1-C6
formed', or 'FC bonding' when no bond broke or formed. Symmetry-equivalent outcomes are one product (the
topology's symmetries, as for the channels). A trajectory QC cut short ends where it was cut: it is flagged
``truncated``, its bonding there may be a moment of a reaction rather than its product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.io.discover import natural_key
from analysis.io.store import Store
from analysis.topology import Topology, bond_change_masks, cutoff_matrix, distance_matrix

WINDOW_FS = 20.0
CHUNK = 256  # trajectories judged at once
FC_BONDING = "FC bonding"
PRODUCT_COLUMNS = ["trajectory_id", "end_time_fs", "truncated", "product", "broken", "formed", "formed_at_fs"]  # the report adds final_label


def canonical_changes(broken, formed, topology: Topology) -> tuple[tuple, tuple]:
    """(broken, formed) pairs mapped through the topology's symmetry permutations, the smallest form: two
    symmetry-equivalent ring openings are one product."""
    perms = [np.asarray(p, dtype=int) for p, _ in topology.symmetries] or [np.arange(len(topology.symbols))]

    def mapped(pairs, p):
        return tuple(sorted(tuple(sorted((int(p[i]), int(p[j])))) for i, j in pairs))

    return min((mapped(broken, p), mapped(formed, p)) for p in perms)


def product_words(broken, formed, topology: Topology) -> str:
    """'C1-C6 broken (ring opening); H6-N5 formed', or :data:`FC_BONDING` when nothing changed; two hydrogens
    that both left their atoms and bonded to each other are 'H6-H9 formed (H2 elimination)'."""
    names, symbols = topology.names, topology.symbols
    rings = [set(r) for r in topology.rings]
    left = {a for pair in broken for a in pair}
    words = [f"{names[i]}-{names[j]} broken" + (" (ring opening)" if any({i, j} <= r for r in rings) else "") for i, j in broken]
    words += [f"{names[i]}-{names[j]} formed" + (" (H2 elimination)" if symbols[i] == symbols[j] == "H" and {i, j} <= left else "")
              for i, j in formed]
    return "; ".join(words) if words else FC_BONDING


def final_distances(coords_angstrom: np.ndarray, time_fs: np.ndarray, window_fs: float = WINDOW_FS) -> np.ndarray:
    """Pairwise distances (n_atoms, n_atoms) averaged over the frames within ``window_fs`` of the last one."""
    time_fs = np.asarray(time_fs, dtype=float)
    last = np.flatnonzero(time_fs >= time_fs[-1] - window_fs)
    return distance_matrix(np.asarray(coords_angstrom)[last]).mean(axis=0)


def formation_time_fs(pair_distances: np.ndarray, time_fs: np.ndarray, cutoffs: np.ndarray, broken: np.ndarray,
                      window_fs: float = WINDOW_FS) -> float:
    """When a trajectory's product formed: the earliest time from which its changed pairs (distances (n_frames,
    n_pairs), Å, each pair's ``cutoffs`` and whether it ``broken`` or formed) stay, as the running median over
    ``window_fs`` centred on each frame (a vibration across the cutoff does not count; a clean step is dated
    exactly), on the product's side of their cutoffs to the end (a bond that broke, re-formed and broke again
    counts from its last breaking). NaN when that is never so."""
    from scipy.ndimage import median_filter

    d = np.asarray(pair_distances, dtype=float)
    time_fs = np.asarray(time_fs, dtype=float)
    if not len(time_fs) or not d.shape[1]:
        return float("nan")
    dt = float(np.median(np.diff(time_fs))) if len(time_fs) > 1 else 1.0
    half = max(0, int(round(window_fs / 2 / max(dt, 1e-9))))
    smooth = median_filter(d, size=(2 * half + 1, 1), mode="nearest")
    on_side = np.where(np.asarray(broken, dtype=bool), smooth > cutoffs, smooth <= cutoffs).all(axis=1)
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
    rows, pending = [], []  # pending: (trajectory id, end time, final distances) not yet judged

    def judge():
        broken, formed = bond_change_masks(np.stack([d for _, _, d in pending]), fc, topology.symbols, topology.bonds)
        for k, (tid, end_fs, _) in enumerate(pending):
            b, f = canonical_changes([tuple(p) for p in np.argwhere(broken[k])], [tuple(p) for p in np.argwhere(formed[k])], topology)
            own_broken, own_formed = np.argwhere(broken[k]), np.argwhere(formed[k])  # in the trajectory's own labels
            rows.append({"trajectory_id": tid, "end_time_fs": end_fs, "truncated": tid in truncated,
                         "product": product_words(b, f, topology), "broken": " ".join(f"{names[i]}-{names[j]}" for i, j in b),
                         "formed": " ".join(f"{names[i]}-{names[j]}" for i, j in f), "formed_at_fs": np.nan,
                         "_pairs": np.vstack([own_broken, own_formed]).astype(int).reshape(-1, 2),
                         "_broken": np.r_[np.ones(len(own_broken), bool), np.zeros(len(own_formed), bool)]})
        pending.clear()

    for path in store_paths:
        with Store(path) as store:
            for tid in sorted(set(store.ids) & set(usable)):
                n = int(usable[tid])
                if n < 1 or len(store.meta[tid]["symbols"]) != len(topology.symbols):
                    continue
                time_fs = store.array(tid, "time_fs")[:n]
                last = np.flatnonzero(time_fs >= time_fs[-1] - window_fs)
                pending.append((tid, float(time_fs[-1]),
                                final_distances(store.rows(tid, "coords_angstrom", last), time_fs[last], window_fs)))
                if len(pending) >= CHUNK:
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
    """Fill ``formed_at_fs`` (:func:`formation_time_fs`) of every row whose trajectory changed its bonding, reading
    only the coordinates of its changed pairs' atoms; drop the rows' private pair columns."""
    cutoff = cutoff_matrix(topology.symbols)
    todo = {r["trajectory_id"]: r for r in rows if len(r["_pairs"])}
    for path in store_paths:
        with Store(path) as store:
            for tid in sorted(set(store.ids) & set(todo)):
                row, n = todo[tid], int(usable[tid])
                pairs = row["_pairs"]
                xyz = store.array(tid, "coords_angstrom")[:n]
                distances = np.linalg.norm(xyz[:, pairs[:, 0]] - xyz[:, pairs[:, 1]], axis=-1)
                row["formed_at_fs"] = formation_time_fs(distances, store.array(tid, "time_fs")[:n], cutoff[pairs[:, 0], pairs[:, 1]],
                                                        row["_broken"], window_fs)
    for r in rows:
        r.pop("_pairs"), r.pop("_broken")


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
