"""Ring conformer labels from Cremer–Pople parameters (Boeyens' nomenclature), for every frame at once.

Six-membered rings: the nearest canonical form on the (θ, φ) sphere —

=============  ==========================  ==========
form           θ (deg)                     φ (deg)
=============  ==========================  ==========
chair C        0 or 180                    any
envelope E     54.7 or 125.3               0 + 60k
half-chair H   50.8 or 129.2               30 + 60k
screw-boat S'  67.5 or 112.5               30 + 60k
boat B         90                          0 + 60k
skew-boat S    90                          30 + 60k
=============  ==========================  ==========

Five-membered rings: envelope E at φ₂ = 0 + 36k, twist T at φ₂ = 18 + 36k. Any ring whose amplitude Q is
below ``planar_q`` (Å) is ``planar``.

The atoms named in a label are the ring atoms out of the reference plane, read from the signed Cremer–Pople
displacements z: superscript = above (z > 0, along the CP normal), subscript = below. E.g. ``¹C₄`` (atom 1
above, atom 4 below), ``³E``, ``E₃``, ``²H₃``, ``¹˒⁴B``. A mirror image flips every z and so swaps super- and
subscripts.
"""

from __future__ import annotations

import re

import numpy as np

PLANAR_Q_ANGSTROM = 0.1

_SUP = str.maketrans("0123456789,", "⁰¹²³⁴⁵⁶⁷⁸⁹˒")
_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉‚")

# (form, symbol, theta_deg, phi_offset_deg) for six-membered rings; φ canonical = offset + 60k
_SIX = [("chair", "C", 0.0, 0.0), ("envelope", "E", 54.7, 0.0), ("half-chair", "H", 50.8, 30.0),
        ("screw-boat", "S'", 67.5, 30.0), ("boat", "B", 90.0, 0.0), ("skew-boat", "S", 90.0, 30.0)]


def atom_tag(name: str) -> str:
    """The part of an atom name used in labels: its number (``C4`` → ``4``), else the whole name."""
    digits = re.findall(r"\d+", name)
    return digits[-1] if digits else name


def _sup(tags) -> str:
    return ",".join(tags).translate(_SUP)


def _sub(tags) -> str:
    return ",".join(tags).translate(_SUB)


def six_ring_form(theta_deg: np.ndarray, phi_deg: np.ndarray) -> np.ndarray:
    """Index into the six-ring forms (chair, envelope, half-chair, screw-boat, boat, skew-boat) of the nearest
    canonical point on the Cremer–Pople sphere (great-circle distance)."""
    theta = np.radians(np.asarray(theta_deg, dtype=float))
    phi = np.radians(np.asarray(phi_deg, dtype=float))
    best = np.full(theta.shape, -1)
    best_cos = np.full(theta.shape, -np.inf)
    for form, (_, _, t0, offset) in enumerate(_SIX):
        for hemisphere_theta in {t0, 180.0 - t0}:
            t = np.radians(hemisphere_theta)
            # nearest canonical φ of this family: offset + 60k
            k = np.round((np.degrees(phi) - offset) / 60.0)
            p = np.radians(offset + 60.0 * k)
            cos_d = np.cos(theta) * np.cos(t) + np.sin(theta) * np.sin(t) * np.cos(phi - p)
            better = cos_d > best_cos
            best = np.where(better, form, best)
            best_cos = np.where(better, cos_d, best_cos)
    return best


def conformer_labels(cp: dict, ring_names, planar_q: float = PLANAR_Q_ANGSTROM) -> np.ndarray:
    """Conformer label of one ring for every frame.

    Parameters
    ----------
    cp : dict
        Output of :func:`analysis.features.geometry.cremer_pople` (``Q``, ``theta``, ``phi``, ``z``).
    ring_names : sequence of str
        Names of the ring atoms in ring order (``C1``, ``N3``...).
    planar_q : float
        Amplitude (Å) below which the ring is called planar.

    Returns
    -------
    ndarray of str, shape (n_frames,): e.g. ``chair ¹C₄``, ``envelope ³E``, ``twist ²T₃``, ``planar``.
    """
    z = np.atleast_2d(cp["z"])
    n_ring = z.shape[-1]
    if n_ring not in (5, 6):
        raise ValueError(f"conformer labels are defined for 5- and 6-membered rings, not {n_ring}")
    form, hi, lo, second = (_five_ring if n_ring == 5 else _six_ring)(cp, z)
    form = np.where(np.atleast_1d(cp["Q"]) < planar_q, -1, form)
    return _label_strings(form, hi, lo, second, [atom_tag(n) for n in ring_names])


def _adjacent_and_flap(z):
    """Ring positions per frame: the adjacent pair of opposite signs with the largest |z_i| + |z_i+1| (above,
    below), and the flap (largest |z|) as the envelope's atom above or below (−1 = none)."""
    n, n_ring = z.shape
    rows, up = np.arange(n), z > 0
    flap = np.argmax(np.abs(z), axis=1)
    nxt = (np.arange(n_ring) + 1) % n_ring
    adj_i = np.argmax(np.where(up != up[:, nxt], np.abs(z) + np.abs(z[:, nxt]), -1.0), axis=1)
    adj_j = nxt[adj_i]
    adj_hi = np.where(up[rows, adj_i], adj_i, adj_j)
    adj_lo = np.where(up[rows, adj_i], adj_j, adj_i)
    env_hi = np.where(up[rows, flap], flap, -1)
    env_lo = np.where(up[rows, flap], -1, flap)
    return adj_hi, adj_lo, env_hi, env_lo, flap


def _five_ring(cp, z):
    """(form, atom above, atom below, second atom) per frame: envelope E (6) or twist T (7) from φ₂."""
    adj_hi, adj_lo, env_hi, env_lo, _ = _adjacent_and_flap(z)
    d = np.atleast_1d(cp["phi"]) % 36.0
    twist = (d >= 9.0) & (d < 27.0)
    return np.where(twist, 7, 6), np.where(twist, adj_hi, env_hi), np.where(twist, adj_lo, env_lo), np.full(len(z), -1)


def _six_ring(cp, z):
    """(form, atom above, atom below, second atom) per frame for the six-ring forms of :func:`six_ring_form`."""
    rows, up = np.arange(len(z)), z > 0
    adj_hi, adj_lo, env_hi, env_lo, flap = _adjacent_and_flap(z)
    form = six_ring_form(np.atleast_1d(cp["theta"]), np.atleast_1d(cp["phi"]))
    # chair: ring positions 0 and 3 (the reference plane holds the other four)
    ch_hi = np.where(z[:, 0] > z[:, 3], 0, 3)
    # boat: the flap and its para partner, both above or both below
    para = (flap + 3) % 6
    b_first, b_second = np.minimum(flap, para), np.maximum(flap, para)
    # skew-boat: the meta pair (i, i+2) on opposite sides with the largest displacements
    meta = (np.arange(6) + 2) % 6
    s_i = np.argmax(np.where(up != up[:, meta], np.abs(z) + np.abs(z[:, meta]), -1.0), axis=1)
    s_j = meta[s_i]
    s_hi = np.where(up[rows, s_i], s_i, s_j)
    s_lo = np.where(up[rows, s_i], s_j, s_i)
    boat_up = up[rows, flap]
    hi = np.select([form == 0, form == 1, form == 4, form == 5], [ch_hi, env_hi, np.where(boat_up, b_first, -1), s_hi], adj_hi)
    lo = np.select([form == 0, form == 1, form == 4, form == 5], [3 - ch_hi, env_lo, np.where(boat_up, -1, b_first), s_lo], adj_lo)
    return form, hi, lo, np.where(form == 4, b_second, -1)


def _label_strings(form, hi, lo, second, tags) -> np.ndarray:
    """One string per distinct (form, hi, lo, second), built once: a handful of labels, whatever the frames."""
    base = 16  # ring positions 0..7 and -1 fit in one base-16 digit after + 1
    codes = (((form + 1) * base + hi + 1) * base + lo + 1) * base + second + 1
    uniq, inverse = np.unique(codes, return_inverse=True)
    text = []
    for code in uniq:
        code, s2 = divmod(int(code), base)
        code, lo_ = divmod(code, base)
        f, h = divmod(code, base)
        text.append(_label(f - 1, h - 1, lo_ - 1, s2 - 1, tags))
    return np.array(text, dtype=object)[inverse.ravel()].astype(str)


_FIVE = {6: ("envelope", "E"), 7: ("twist", "T")}


def _label(form: int, hi: int, lo: int, second: int, tags) -> str:
    if form < 0:
        return "planar"
    name, symbol = _FIVE[form] if form in _FIVE else _SIX[form][:2]
    if symbol == "B":
        pair = [tags[hi if hi >= 0 else lo], tags[second]]
        return f"{name} {_sup(pair)}B" if hi >= 0 else f"{name} B{_sub(pair)}"
    above = _sup([tags[hi]]) if hi >= 0 else ""
    below = _sub([tags[lo]]) if lo >= 0 else ""
    return f"{name} {above}{symbol}{below}"
