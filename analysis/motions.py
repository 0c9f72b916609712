"""Turn feature changes into chemical words: 'C6 puckering', 'NH2 out-of-plane [+]', 'C2-O7 stretching'."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.elements import COVALENT_RADII_ANGSTROM
from analysis.features.internal import CONTACT_FAMILIES, FAMILY_SCALE, feature_family
from analysis.topology import Topology, bond_cutoff_angstrom
from analysis.symmetry import first_form, phrase_atoms


def _atoms(column: str) -> list[str]:
    inner = column.split("[", 1)[1].rstrip("]")
    return inner.split(":")[0].split("-")


def _symbols(column: str, topology: Topology) -> list[str] | None:
    """The elements of the atoms a column names (None when one is not in the topology)."""
    symbol = dict(zip(topology.names, topology.symbols))
    found = [symbol.get(a) for a in _atoms(column)]
    return None if None in found else found


def _bond_cutoff(column: str, topology: Topology) -> float:
    """The bond cutoff (Å) of a ``bond[...]`` or contact column's two atoms; inf for another column or unknown atoms."""
    symbols = _symbols(column, topology) if feature_family(column) in ("bond", *CONTACT_FAMILIES) else None
    return bond_cutoff_angstrom(*symbols) if symbols and len(symbols) == 2 else np.inf


def _in_one_ring(column: str, topology: Topology) -> bool:
    atoms = {topology.names.index(a) for a in _atoms(column)}
    return any(atoms <= set(ring) for ring in topology.rings)


def describe_feature(column: str, delta: float, topology: Topology, value: float | None = None) -> str:
    """Words for a change ``delta`` of feature ``column``; ``value`` (the feature at the event, when known) marks a
    bond stretched past the topology's own bond cutoff from within it (``value - delta``, :func:`bonding_changes`):
    'C1-C6 stretching (ring opening)' for a ring bond, 'C1-I2 stretching (bond breaking)' for another."""
    fam = feature_family(column)
    atoms = _atoms(column) if "[" in column else []  # a column that names no atoms is left as it is
    if fam == "pucker_z":  # "[+]": towards the Cremer–Pople mean-plane normal of the ring
        return f"{atoms[0]} puckering [{'+' if delta > 0 else '-'}]"
    if fam == "oop":
        idx = topology.names.index(atoms[0])
        return f"{topology.group_name(idx)} out-of-plane [{'+' if delta > 0 else '-'}]"
    if fam == "pyr":
        idx = topology.names.index(atoms[0])
        return f"{topology.group_name(idx)} pyramidalization [{'+' if delta > 0 else '-'}]"
    if fam == "umbrella":  # the X-C-H angles closing towards 90° flatten the group, opening fold it
        idx = topology.names.index(atoms[0])
        return f"{topology.group_name(idx)} umbrella {'folding' if delta > 0 else 'flattening'}"
    if fam == "bond":
        if value is not None and bonding_changes([column], np.array([value]), np.array([value - delta]), topology)[0]:
            return f"{atoms[0]}-{atoms[1]} stretching ({'ring opening' if _in_one_ring(column, topology) else 'bond breaking'})"
        return f"{atoms[0]}-{atoms[1]} {'stretching' if delta > 0 else 'compression'}"
    if fam == "angle":
        return f"{'-'.join(atoms)} {'opening' if delta > 0 else 'closing'}"
    if fam.startswith("dihedral"):  # named by its central bond: every torsion about it is one twist
        return f"{atoms[1]}-{atoms[2]} torsion" if len(atoms) == 4 else f"{'-'.join(atoms)} torsion"
    if fam in CONTACT_FAMILIES:
        return f"{atoms[0]}···{atoms[1]} {'bond formation' if delta < 0 else 'separation'}"
    if fam == "pucker_Q":
        return f"{column.split('[')[1].rstrip(']')} puckering"
    return column


# A twist about a bond is ranked by its angle in this unit (°): a 90° twist about a double bond ranks with a 30°
# pyramidalization, not with a 10° angle change as its sin/cos columns' change in their clustering unit (1.0) would
TORSION_NAMING_SCALE_DEG = 30.0


def _twist_bonds(columns, topology: Topology | None, umbrella_of: dict | None = None) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Central bond (its two atom names, sorted) → the (sin, cos) column positions of every torsion about it, for the
    bonds that can twist: not in a ring (a ring's torsions change with its puckering and with the wag of a
    substituent, which have their own words) and not a methyl rotor (a torsion whose outer atom belongs to a CH3-like
    group's umbrella at that group's end, :func:`_umbrella_keys`, given as ``umbrella_of`` when the caller has it:
    beside the bond's other atom, the umbrella's atoms are its hydrogens; their turn is no chemistry)."""
    if topology is None:
        return {}
    umbrella_of = _umbrella_keys(topology) if umbrella_of is None else umbrella_of
    position = {c: k for k, c in enumerate(columns)}
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for k, column in enumerate(columns):
        atoms = _atoms(column) if feature_family(column) == "dihedral_sin" else []
        j = position.get("dihedral_cos[" + column.split("[", 1)[1]) if len(atoms) == 4 else None
        if j is None or atoms[0] in umbrella_of.get(atoms[1], ()) or atoms[3] in umbrella_of.get(atoms[2], ()):
            continue
        if all(n in topology.names for n in atoms[1:3]) and _in_one_ring(f"bond[{atoms[1]}-{atoms[2]}]", topology):
            continue
        out.setdefault(tuple(sorted(atoms[1:3])), []).append((k, j))
    return out


def _twist_deg(values: np.ndarray, reference: np.ndarray, pairs) -> np.ndarray:
    """(…,) signed twist (°) about one bond: the mean over its torsions (``pairs`` of sin/cos positions) of each
    one's turn (wrapped to ±180°) from ``reference`` to ``values``, each weighted by the length of its (sin, cos)
    point, 1 for a single geometry and less for a mean over geometries that spread round the circle. A rigid twist
    turns every torsion about the bond alike; one substituent wagging turns only its own, and a pyramidalization
    turns those of its two substituents opposite ways: the mean keeps the twist alone."""
    s, c = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    turn = np.arctan2(values[..., s], values[..., c]) - np.arctan2(reference[s], reference[c])
    turn = (turn + np.pi) % (2.0 * np.pi) - np.pi
    length = np.minimum(np.hypot(values[..., s], values[..., c]), 1.0)
    return np.degrees((turn * length).mean(axis=-1))


def naming_scores(columns, values: np.ndarray, reference: np.ndarray, topology: Topology | None = None,
                  twists: dict | None = None) -> np.ndarray:
    """(…, n_columns) size of each feature's change from ``reference`` to ``values`` in its family's natural unit
    (:data:`FAMILY_SCALE`); every torsion about a bond that can twist (:func:`_twist_bonds`) scores at least the
    bond's twist (:func:`_twist_deg`) in units of :data:`TORSION_NAMING_SCALE_DEG` (``twists``: those bonds, when the
    caller has them)."""
    columns = list(columns)
    values = np.asarray(values, dtype=float)
    reference = np.asarray(reference, dtype=float)
    scale = np.array([FAMILY_SCALE[feature_family(c)] for c in columns])
    score = np.abs(values - reference) / scale
    for pairs in (_twist_bonds(columns, topology) if twists is None else twists).values():
        twist = np.abs(_twist_deg(values, reference, pairs))[..., None] / TORSION_NAMING_SCALE_DEG
        where = np.array(pairs).ravel()
        score[..., where] = np.fmax(score[..., where], twist)
    return score


def motion_scores(group_mean: pd.Series, reference_mean: pd.Series, topology: Topology | None = None) -> pd.Series:
    """|change| of each feature in its family's natural unit (:func:`naming_scores`), sorted descending."""
    cols = [c for c in group_mean.index if feature_family(c) in FAMILY_SCALE and c in reference_mean.index]
    score = naming_scores(cols, group_mean[cols].to_numpy(float), reference_mean[cols].to_numpy(float), topology)
    return pd.Series(score, index=cols).sort_values(ascending=False, kind="stable")


# Unit in which each family's change is reported (dihedrals: the change of the torsion angle from sin/cos)
FAMILY_UNIT = {"bond": "Å", "angle": "°", "dihedral_sin": "°", "dihedral_cos": "°", "pucker_z": "Å", "oop": "°",
               "pyr": "°", "umbrella": "°", "pucker_Q": "Å", "contact": "Å", "fragment_contact": "Å"}

# a contact (two atoms that may bond) is a motion only once they come this close: × the sum of covalent radii
BOND_FORMING_FACTOR = 1.6


def not_forming(columns, values: np.ndarray, topology: Topology) -> np.ndarray:
    """(…, n_columns) True where a ``contact[...]`` (or ``fragment_contact[...]``) column's distance ``values`` (Å) is still beyond
    :data:`BOND_FORMING_FACTOR` × the sum of the two atoms' covalent radii (a contact of a hydrogen: beyond the
    bond cutoff itself, :func:`analysis.topology.bond_cutoff_angstrom`, since a hydrogen bond's H···N already lies
    near 1.6 × the covalent sum): no bond forms there, and the contact is left out of the motions (its distance
    also changes with every torsion between the two atoms)."""
    limit = np.full(len(columns), np.inf)
    for k, column in enumerate(columns):
        symbols = _symbols(column, topology) if feature_family(column) in CONTACT_FAMILIES else None
        if symbols:
            limit[k] = (bond_cutoff_angstrom(*symbols) if "H" in symbols
                        else BOND_FORMING_FACTOR * sum(COVALENT_RADII_ANGSTROM.get(x, 1.5) for x in symbols))
    return np.asarray(values, dtype=float) > limit


BONDING_CHANGE_RANK = 1e6  # added to the score of a bond that breaks or forms: ranked before every other motion


def bonding_changes(columns, values: np.ndarray, reference: np.ndarray, topology: Topology) -> np.ndarray:
    """(…, n_columns) True where the bonding changes, judged by the topology's own bond cutoff
    (:func:`analysis.topology.bond_cutoff_angstrom`): a ``bond[...]`` that lengthened past it from within it in
    ``reference`` (the bond broke, not only stretched), or a contact that was beyond it in ``reference`` and came within it. A channel is a reaction before it is a
    distortion: such a motion is named first, whatever the size of the others (cyclohexadiene's C1-C6 ring
    opening, +0.41 Å at the hop, before its hydrogens' 47° out-of-plane wag)."""
    values = np.asarray(values, dtype=float)
    reference = np.broadcast_to(np.asarray(reference, dtype=float), values.shape)
    cutoff = np.array([_bond_cutoff(c, topology) for c in columns])
    family = np.array([feature_family(c) for c in columns], dtype=object)
    broken = (family == "bond") & (values > cutoff) & (reference <= cutoff) & (values > reference)
    formed = np.isin(family, CONTACT_FAMILIES) & (values < cutoff) & (reference >= cutoff)
    return broken | formed


@dataclass(frozen=True)
class Motion:
    """One named motion of a channel: its words, the feature it comes from and the mean change at the event."""

    phrase: str
    column: str
    change: float
    unit: str

    @property
    def decimals(self) -> int:
        """Decimals its change is shown with: 0.01 Å, whole degrees and other units."""
        return 2 if self.unit == "Å" else 0

    @property
    def reads_as_zero(self) -> bool:
        """Whether its change, shown to :attr:`decimals`, is zero ('+0 °')."""
        return bool(np.isfinite(self.change) and round(abs(self.change), self.decimals) == 0)

    def __str__(self) -> str:
        if not np.isfinite(self.change):
            return self.phrase
        value = f"{self.change:+.{self.decimals}f}".replace("-", "\u2212")
        return f"{self.phrase} {value} {self.unit}"


def _torsion_change_deg(column: str, g: pd.Series, r: pd.Series, twists: dict | None = None) -> float:
    """Change of a torsion angle (°, wrapped to ±180) from the means of its sin and cos columns; for a bond that can
    twist (``twists``: :func:`_twist_bonds` of ``g``'s index, which ``r`` shares), the bond's twist
    (:func:`_twist_deg`), which the phrase names."""
    atoms = _atoms(column)
    pairs = (twists or {}).get(tuple(sorted(atoms[1:3]))) if len(atoms) == 4 else None
    if pairs:
        return float(_twist_deg(g.to_numpy(float), r.to_numpy(float), pairs))
    inner = column.split("[", 1)[1]
    s, c = f"dihedral_sin[{inner}", f"dihedral_cos[{inner}"
    if s not in g.index or c not in g.index:
        return float("nan")
    delta = np.degrees(np.arctan2(g[s], g[c]) - np.arctan2(r[s], r[c]))
    return float((delta + 180.0) % 360.0 - 180.0)


NO_MOTION = "no motion beyond the Franck–Condon spread"
FC_SPREAD_SE = 3.0  # a channel's mean change must exceed this many standard errors of (events mean − FC mean) to be named


def beyond_fc_spread(group: pd.DataFrame, reference: pd.DataFrame, columns) -> pd.Series:
    """Per column, whether the events' mean differs from the Franck–Condon frames' mean by more than
    :data:`FC_SPREAD_SE` standard errors (Welch; one event takes the FC frames' spread as its own)."""
    g, r = group[columns].astype(float), reference[columns].astype(float)
    var_r = r.var(ddof=1) if len(r) > 1 else pd.Series(0.0, index=columns)
    var_g = g.var(ddof=1) if len(g) > 1 else var_r
    se = np.sqrt(var_g / max(len(g), 1) + var_r / max(len(r), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((g.mean() - r.mean()).abs() / se > FC_SPREAD_SE).fillna(False)


def motion_details(group: pd.DataFrame, reference: pd.DataFrame, topology: Topology, n: int = 2) -> list[Motion]:
    """The ``n`` largest distinct motions of ``group`` (event rows) relative to ``reference`` (FC frames), ranked by
    their change in each family's natural unit, with the change in its reporting unit (:data:`FAMILY_UNIT`). When
    no feature's change goes beyond the Franck–Condon spread (:func:`beyond_fc_spread`), the one motion is
    :data:`NO_MOTION` (events at the Franck–Condon geometry: a C-O 'compression' of 0.01 Å named such a channel); a
    motion after the first is named only where its change goes beyond that spread (a planted S-O stretch's second
    motion read 'O2-S1-O3 opening +0 °')."""
    feats = [c for c in group.columns if "[" in c and feature_family(c) in FAMILY_SCALE and c in reference.columns]
    beyond = beyond_fc_spread(group, reference, feats) if len(reference) > 1 and feats else None
    if beyond is not None and not beyond.any():
        return [Motion(NO_MOTION, "", float("nan"), "")]
    g, r = group[feats].mean(), reference[feats].mean()
    scores = motion_scores(g, r, topology)
    scores = scores[~not_forming(list(scores.index), g[scores.index].to_numpy(), topology)]
    changes = bonding_changes(list(scores.index), g[scores.index].to_numpy(), r[scores.index].to_numpy(), topology)
    ranked = list(scores.index[changes]) + list(scores.index[~changes])
    if beyond is not None:  # after the first, a motion within the FC spread is thermal noise ('O2-S1-O3 opening +0 °')
        ranked = ranked[:1] + [c for c in ranked[1:] if beyond[c]]
    return _distinct_motions(ranked, g, r, topology, n)


def hydrogen_transfers(columns, values: pd.Series, reference: pd.Series, topology: Topology) -> dict[str, str]:
    """Column → phrase ('H6 transfer O1→N5') for each hydrogen whose bond to one atom broke and whose contact to
    another formed (:func:`bonding_changes`): both columns of the pair map to the one phrase. A hydrogen with
    several formed contacts goes to the nearest."""
    columns = [c for c in columns if feature_family(c) in ("bond", *CONTACT_FAMILIES)]
    if not columns:
        return {}
    changed = bonding_changes(columns, values[columns].to_numpy(float), reference[columns].to_numpy(float), topology)
    symbol = dict(zip(topology.names, topology.symbols))
    broken, formed = {}, {}
    for column, change in zip(columns, changed):
        atoms = _atoms(column)
        hydrogens = [a for a in atoms if symbol.get(a) == "H"]
        if not change or len(hydrogens) != 1 or len(atoms) != 2:
            continue
        h, other = hydrogens[0], next(a for a in atoms if a != hydrogens[0])
        if feature_family(column) == "bond":
            broken.setdefault(h, (column, other))
        elif h not in formed or values[column] < values[formed[h][0]]:
            formed[h] = (column, other)
    out = {}
    for h in broken.keys() & formed.keys():
        phrase = f"{h} transfer {broken[h][1]}→{formed[h][1]}"
        out[broken[h][0]] = out[formed[h][0]] = phrase
    return out


def _umbrella_keys(topology: Topology) -> dict[str, set]:
    """Centre name → the names of its umbrella's axis atom and hydrogens (:func:`umbrella_groups`)."""
    from analysis.features.internal import umbrella_groups

    return {topology.names[c]: {topology.names[a] for a in (axis, *hs)} for c, axis, hs in umbrella_groups(topology)}


def _umbrella_key(column: str, umbrella_of: dict) -> str | None:
    """The methyl centre an ``umbrella[...]`` column, or an angle at that centre between its axis atom and hydrogens,
    belongs to; None for any other column."""
    fam = feature_family(column)
    if fam == "umbrella":
        return _atoms(column)[0]
    if fam == "angle" and umbrella_of:
        a, b, c = _atoms(column)
        return b if b in umbrella_of and {a, c} <= umbrella_of[b] else None
    return None


def _distinct_motions(ranked_columns, values: pd.Series, reference: pd.Series, topology: Topology, n: int,
                      transfers: dict | None = None, umbrella_of: dict | None = None, twists: dict | None = None) -> list[Motion]:
    """The first ``n`` distinct phrases of ``ranked_columns`` (largest change first) with their changes from
    ``reference`` to ``values`` (torsions as the change of the angle); a hydrogen that left one atom for another is
    one motion, 'H6 transfer O1→N5' (:func:`hydrogen_transfers`, unless the caller knows them: ``transfers``),
    without a size. ``umbrella_of`` (:func:`_umbrella_keys` of ``topology``) and ``twists`` (:func:`_twist_bonds` of
    ``values``' index): when the caller has them."""
    out: list[Motion] = []
    transfers = hydrogen_transfers(ranked_columns, values, reference, topology) if transfers is None else transfers
    if umbrella_of is None:
        umbrella_of = _umbrella_keys(topology)
    twists = _twist_bonds(list(values.index), topology, umbrella_of) if twists is None else twists
    for col in ranked_columns:
        fam = feature_family(col)
        group = _umbrella_key(col, umbrella_of)
        if group and any(_umbrella_key(m.column, umbrella_of) == group and feature_family(m.column) != fam for m in out):
            continue  # an angle of a methyl whose umbrella is named already (or the umbrella of one whose angle is)
        if col in transfers:
            words, change, unit = transfers[col], float("nan"), ""
        else:
            words = describe_feature(col, float(values[col] - reference[col]), topology, float(values[col]))
            change = (_torsion_change_deg(col, values, reference, twists) if fam.startswith("dihedral")
                      else float(values[col] - reference[col]))
            unit = FAMILY_UNIT.get(fam, "")
        if any(m.phrase == words for m in out):
            continue
        motion = Motion(words, col, change, unit)
        if out and motion.reads_as_zero:  # after the first, a motion that would read '+0 °' says nothing
            continue
        out.append(motion)
        if len(out) == n:
            break
    return out


def event_motions(features: pd.DataFrame, reference: pd.DataFrame, topology: Topology, n: int = 2) -> list[list[Motion]]:
    """The ``n`` largest distinct motions of every single event (a row of ``features``) relative to the mean of
    ``reference`` (FC frames): :func:`motion_details` for one event at a time, ranked for all rows at once."""
    cols = [c for c in features.columns if "[" in c and feature_family(c) in FAMILY_SCALE and c in reference.columns]
    if not cols or not len(reference):
        return [[] for _ in range(len(features))]
    ref = reference[cols].astype(float).mean()
    values = features[cols].to_numpy(float)
    umbrella_of = _umbrella_keys(topology)  # once for every event
    twists = _twist_bonds(cols, topology, umbrella_of)
    score = np.nan_to_num(naming_scores(cols, values, ref.to_numpy(), topology, twists), nan=-1.0)
    score[not_forming(cols, values, topology)] = -1.0
    changed = bonding_changes(cols, values, ref.to_numpy(), topology)
    score[changed & (score >= 0)] += BONDING_CHANGE_RANK
    # a transfer needs a hydrogen's bond broken and one of its contacts formed: looked for only in those rows
    with_h = np.array(["H" in (_symbols(c, topology) or []) for c in cols], dtype=bool)
    family = np.array([feature_family(c) for c in cols], dtype=object)
    maybe = ((changed & with_h & (family == "bond")).any(axis=1)
             & (changed & with_h & np.isin(family, CONTACT_FAMILIES)).any(axis=1))
    # one phrase can come from several columns (a torsion's sin and cos through every outer pair of its bond, all
    # of one score; an atom in two fused rings): the window holds n phrases of the most columns one bond has
    per_bond = pd.Series([tuple(sorted(_atoms(c)[1:3])) for c in cols if feature_family(c).startswith("dihedral")]).value_counts()
    order = np.argsort(-score, axis=1, kind="stable")[:, :n * max(4, int(per_bond.max()) if len(per_bond) else 0) + 4]
    return [_distinct_motions([cols[j] for j in row_order if score[i, j] >= 0], pd.Series(values[i], index=cols), ref, topology, n,
                              transfers=None if maybe[i] else {}, umbrella_of=umbrella_of, twists=twists)
            for i, row_order in enumerate(order)]


def phrase_bond_changes(phrase: str, names) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(broken, formed) atom pairs a motion phrase names in its first form: 'C1-C6 stretching (ring opening)' or
    '(bond breaking)' breaks C1-C6, 'C1···C6 bond formation' forms it, 'H6 transfer O1→N5' breaks O1-H6 and forms
    H6-N5; any other phrase changes no bond."""
    first = first_form(phrase)
    atoms = phrase_atoms(first, names)
    if first.endswith(("(ring opening)", "(bond breaking)")) and len(atoms) == 2:
        return [tuple(sorted(atoms))], []
    if first.endswith("bond formation") and len(atoms) == 2:
        return [], [tuple(sorted(atoms))]
    if " transfer " in first and len(atoms) == 3:
        h, donor, acceptor = atoms
        return [tuple(sorted((h, donor)))], [tuple(sorted((h, acceptor)))]
    return [], []


def _base_phrase(phrase: str) -> str:
    """A phrase without its '(ring opening)' / '(bond breaking)' qualifier."""
    return phrase.split(" (", 1)[0]


def shared_motions(motions: list[list[Motion]], min_events: int = 2) -> list[tuple[str, int, float, str]]:
    """The phrases among single events' motions (:func:`event_motions`) that at least ``min_events`` events and at
    least half of them share: (phrase, events, mean change, unit), most shared first (ties: larger mean change).
    A bond stretched past its cutoff in some events and not in others is one motion, named with the qualifier
    ('(ring opening)') when at least half of its events have it."""
    groups: dict[str, list[Motion]] = {}
    for found in motions:
        for base in dict.fromkeys(_base_phrase(m.phrase) for m in found):  # an event counts once per phrase
            groups.setdefault(base, []).append(next(m for m in found if _base_phrase(m.phrase) == base))
    need = max(min_events, int(np.ceil(len(motions) / 2)))
    out = []
    for base, ms in groups.items():
        if len(ms) < need:
            continue
        qualified = [m.phrase for m in ms if m.phrase != base]
        phrase = max(set(qualified), key=qualified.count) if 2 * len(qualified) >= len(ms) else base
        change = float(np.nanmean([m.change for m in ms])) if any(np.isfinite(m.change) for m in ms) else np.nan
        out.append((phrase, len(ms), change, ms[0].unit))
    return sorted(out, key=lambda r: (-r[1], -abs(np.nan_to_num(r[2]))))


def important_motions(group: pd.DataFrame, reference: pd.DataFrame, topology: Topology, n: int = 2) -> list[str]:
    """The phrases of :func:`motion_details`."""
    return [m.phrase for m in motion_details(group, reference, topology, n)]


def loading_words(column: str, loading: float, topology: Topology) -> str:
    """Words for a PCA loading: the motion of ``column`` along the component's positive direction."""
    return describe_feature(column, loading, topology)


def symmetry_sign_flips(column: str, topology: Topology, indices) -> list[bool]:
    """Whether each of the topology's symmetries ``indices`` turns the sign of the signed feature ``column``
    between an event's canonical labels and its own: known from one slightly distorted copy of the symmetry
    reference, featurized in both labellings (a C2 rotation about an in-plane axis of a planar ring swaps its
    faces, so a canonical 'C4 puckering [+]' is the event's own 'C4 puckering [-]')."""
    from analysis import symmetry
    from analysis.features.internal import featurize

    if feature_family(column) not in ("pucker_z", "oop", "pyr") or not topology.symmetries:
        return [False] * len(list(indices))
    reference = topology.initial_geometry_angstrom()
    distorted = reference + np.random.default_rng(0).normal(0.0, 0.1, reference.shape)
    canonical = featurize(distorted[None], topology)
    family = feature_family(column)
    inner = column.split("[", 1)[1].rstrip("]")
    atom, _, ring = inner.partition(":")
    index = {n: i for i, n in enumerate(topology.names)}
    flips = []
    for k in indices:
        perm, improper = topology.symmetries[k]
        own = featurize(symmetry.restore(distorted[None], perm, bool(improper)), topology)
        mapped_ring = ""
        if ring:
            atoms = {perm[i] for i in topology.rings[int(ring[4:]) - 1]}
            mapped_ring = ":ring" + str(next((r + 1 for r, members in enumerate(topology.rings) if set(members) == atoms), 0))
        mapped = f"{family}[{topology.names[perm[index[atom]]]}{mapped_ring}]"
        value, own_value = float(canonical[column].iloc[0]), float(own[mapped].iloc[0]) if mapped in own else np.nan
        flips.append(bool(np.isfinite(own_value) and value * own_value < 0))
    return flips
