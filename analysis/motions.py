"""Turn feature changes into chemical words: 'C6 puckering', 'NH2 out-of-plane [+]', 'C2-O7 stretching'."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.features.internal import FAMILY_SCALE, feature_family
from analysis.topology import Topology


def _atoms(column: str) -> list[str]:
    inner = column.split("[", 1)[1].rstrip("]")
    return inner.split(":")[0].split("-")


def describe_feature(column: str, delta: float, topology: Topology) -> str:
    """Words for a change ``delta`` of feature ``column``."""
    fam = feature_family(column)
    atoms = _atoms(column)
    if fam == "pucker_z":  # "[+]": towards the Cremer–Pople mean-plane normal of the ring
        return f"{atoms[0]} puckering [{'+' if delta > 0 else '-'}]"
    if fam == "oop":
        idx = topology.names.index(atoms[0])
        return f"{topology.group_name(idx)} out-of-plane [{'+' if delta > 0 else '-'}]"
    if fam == "pyr":
        idx = topology.names.index(atoms[0])
        return f"{topology.group_name(idx)} pyramidalization [{'+' if delta > 0 else '-'}]"
    if fam == "bond":
        return f"{atoms[0]}-{atoms[1]} {'stretching' if delta > 0 else 'compression'}"
    if fam == "angle":
        return f"{'-'.join(atoms)} {'opening' if delta > 0 else 'closing'}"
    if fam.startswith("dihedral"):
        return f"{'-'.join(atoms)} torsion"
    if fam == "pucker_Q":
        return f"{column.split('[')[1].rstrip(']')} puckering"
    return column


def motion_scores(group_mean: pd.Series, reference_mean: pd.Series) -> pd.Series:
    """|change| of each feature in its family's natural unit (FAMILY_SCALE), sorted descending."""
    cols = [c for c in group_mean.index if feature_family(c) in FAMILY_SCALE and c in reference_mean.index]
    delta = group_mean[cols] - reference_mean[cols]
    scale = np.array([FAMILY_SCALE[feature_family(c)] for c in cols])
    return (delta.abs() / scale).sort_values(ascending=False)


def important_motions(group: pd.DataFrame, reference: pd.DataFrame, topology: Topology, n: int = 2) -> list[str]:
    """The ``n`` largest distinct motions of ``group`` (event rows) relative to ``reference`` (FC frames)."""
    feats = [c for c in group.columns if "[" in c and feature_family(c) in FAMILY_SCALE]
    g, r = group[feats].mean(), reference[feats].mean()
    scores = motion_scores(g, r)
    words: list[str] = []
    for col in scores.index:
        w = describe_feature(col, float(g[col] - r[col]), topology)
        if w not in words:
            words.append(w)
        if len(words) == n:
            break
    return words
