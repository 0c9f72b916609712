"""Drawings of a channel's representative geometry: a 2D projection with bonds, element colours, the moving atoms
highlighted and the Franck–Condon geometry faint behind it (matplotlib; RDKit needs SMILES-grade bonding that
twisted, half-broken excited-state geometries do not have).

The view direction is chosen, not fixed: among 400 directions on the sphere the one that keeps the molecule
spread out (area of its 2D shadow) *and* shows the motion (share of the moving atoms' displacement that lies in
the picture plane), so a puckering is seen from an oblique angle rather than face-on where it is invisible.
"""

from __future__ import annotations

import numpy as np

from analysis.report.figures import _png, plt
from analysis.symmetry import kabsch_rmsd
from analysis.topology import bond_changes

# CPK-like colours; elements not listed are drawn pink
ELEMENT_COLORS = {"H": "#f2f2f2", "C": "#505050", "N": "#3050f8", "O": "#ff0d0d", "F": "#90e050", "S": "#e6c000",
                  "P": "#ff8000", "Cl": "#1ff01f", "Br": "#a62929", "I": "#940094", "B": "#ffb5b5", "Si": "#f0c8a0"}
HIGHLIGHT_COLOR = "#ff9900"
BROKEN_COLOR = "#d62728"    # a bond broken at the event: dashed
FORMED_COLOR = "#1f77b4"    # a bond formed at the event: dotted
MIN_MOVE_ANGSTROM = 0.2     # an atom must move at least this far ...
MOVE_SHARE = 0.5            # ... and at least this share of the largest displacement to count as moving


MAX_STARTS = 12


def _kabsch_step(coords, reference, w, scale):
    """One reweighted Kabsch fit of ``coords`` (m, n_atoms, 3) with weights ``w`` (m, n_atoms): (moved, new w)."""
    wn = (w / w.sum(-1, keepdims=True))[..., None]
    ca, cb = (wn * coords).sum(-2, keepdims=True), (wn * reference).sum(-2, keepdims=True)
    u, _, vt = np.linalg.svd(np.swapaxes((coords - ca) * wn, -1, -2) @ (reference - cb))
    fix = np.ones(u.shape[:-2] + (3,))
    fix[..., 2] = np.sign(np.linalg.det(u @ vt))
    moved = (coords - ca) @ ((u * fix[..., None, :]) @ vt) + cb
    d = np.linalg.norm(moved - reference, axis=-1)
    return moved, 1.0 / (1.0 + (d / scale) ** 2)


def _irls(coords, reference, w, n_iter, scale, tol_angstrom=1e-7):
    """Iteratively reweighted Kabsch from the weights ``w``: (moved, robust loss per geometry). A geometry stops
    iterating before ``n_iter`` once none of its atoms moved more than ``tol_angstrom`` in an iteration (the
    others go on): only the slowly converging geometries pay for more iterations."""
    lead = coords.shape[:-2]
    coords = coords.reshape((-1,) + coords.shape[-2:])
    w = w.reshape(coords.shape[:-1]).copy()
    moved = coords.copy()
    active = np.arange(len(coords))
    for _ in range(n_iter):
        if not len(active):
            break
        step, w[active] = _kabsch_step(coords[active], reference, w[active], scale)
        change = np.abs(step - moved[active]).max(axis=(-1, -2), initial=0.0)
        moved[active] = step
        active = active[change >= tol_angstrom]
    d = np.linalg.norm(moved - reference, axis=-1)
    return moved.reshape(lead + moved.shape[-2:]), np.log1p((d / scale) ** 2).sum(-1).reshape(lead)


def superpose(coords: np.ndarray, reference: np.ndarray, n_iter: int = 30, scale_angstrom: float = 0.07,
              max_starts: int = MAX_STARTS) -> np.ndarray:
    """Geometries ``coords`` (..., n_atoms, 3) rotated and translated onto ``reference`` (n_atoms, 3) by a robust
    Kabsch fit: iteratively reweighted with Cauchy weights 1/(1 + (d/scale)²) of each atom's distance d, so the
    atoms that took part in a motion stop pulling the fit and the rest of the molecule superposes (a plain fit
    tilts the whole molecule to absorb a group's rotation). The reweighting starts from every atom's
    neighbourhood in turn (its 6 nearest atoms; at most ``max_starts`` starts) and from all atoms equally;
    the fit with the lowest robust loss Σ log(1 + (d/scale)²) wins."""
    coords, reference = np.asarray(coords, float), np.asarray(reference, float)
    n = reference.shape[0]
    starts = [np.ones(n)]
    if n > 6 and max_starts > 0:
        dist = np.linalg.norm(reference[:, None] - reference[None], axis=-1)
        for i in np.unique(np.linspace(0, n - 1, min(n, max_starts)).round().astype(int)):
            w = np.full(n, 1e-3)
            w[np.argsort(dist[i])[:6]] = 1.0
            starts.append(w)
    # every start in one batch (its own leading axis): one Kabsch step per iteration instead of one per start
    # (a 2,000-trajectory report made 4,966 calls of ~0.5 ms, mostly NumPy's per-call overhead on 3 x 3 matrices)
    lead = coords.shape[:-2]
    batch = np.broadcast_to(coords, (len(starts),) + coords.shape)
    weights = np.broadcast_to(np.asarray(starts)[(slice(None),) + (None,) * len(lead)], batch.shape[:-1]).copy()
    moved, loss = _irls(batch, reference, weights, n_iter, scale_angstrom)
    best = np.argmin(loss.reshape(len(starts), -1), axis=0)  # the first of equal losses, as start by start
    flat = moved.reshape((len(starts), -1) + coords.shape[-2:])
    return flat[best, np.arange(flat.shape[1])].reshape(coords.shape)


def moving_atoms(mean_displacement_angstrom: np.ndarray) -> list[int]:
    """Atoms whose displacement (n_atoms,) is ≥ :data:`MIN_MOVE_ANGSTROM` and ≥ :data:`MOVE_SHARE` of the largest."""
    d = np.asarray(mean_displacement_angstrom, float)
    if not len(d) or d.max() < MIN_MOVE_ANGSTROM:
        return []
    return [int(i) for i in np.flatnonzero((d >= MIN_MOVE_ANGSTROM) & (d >= MOVE_SHARE * d.max()))]


def _sphere(n: int = 400) -> np.ndarray:
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    theta = np.pi * (1 + 5 ** 0.5) * k
    v = np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])
    return v[v[:, 2] >= 0]  # a direction and its opposite give mirror pictures: keep one hemisphere


SEPARATE_MAX_ATOMS = 150  # above, ``separate`` is ignored (its pairwise distances grow as atoms² x directions)


def view_axes(reference: np.ndarray, displacement: np.ndarray | None = None, separate: bool = False) -> np.ndarray:
    """Rows: picture x axis, picture y axis, view direction (towards the viewer), chosen as described above; with
    ``separate``, the spread is also weighed by the smallest distance between two atoms in the picture, so no atom
    hides behind another (the two hydrogens of a ring CH2 seen face-on)."""
    x = np.asarray(reference, float) - np.mean(reference, axis=0)
    dirs = _sphere()
    # orthonormal picture axes for every direction
    helper = np.where(np.abs(dirs[:, [0]]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    ex = np.cross(dirs, helper)
    ex /= np.linalg.norm(ex, axis=1, keepdims=True)
    ey = np.cross(dirs, ex)
    px, py = x @ ex.T, x @ ey.T                                         # (n_atoms, n_dirs)
    cxx, cyy, cxy = (px * px).mean(0), (py * py).mean(0), (px * py).mean(0)
    area = np.sqrt(np.clip(cxx * cyy - cxy ** 2, 0, None))
    score = area / max(area.max(), 1e-12)
    if displacement is not None and np.linalg.norm(displacement) > 1e-9:
        d = np.asarray(displacement, float)
        along = np.abs(d @ dirs.T)                                      # (n_atoms, n_dirs): hidden part
        seen = 1.0 - np.sqrt((along ** 2).sum(0)) / np.linalg.norm(d)
        score = score * np.sqrt(np.clip(seen, 0, None))
    if separate and 2 <= len(x) <= SEPARATE_MAX_ATOMS:
        i, j = np.triu_indices(len(x), k=1)
        closest = np.hypot(px[i] - px[j], py[i] - py[j]).min(axis=0)   # (n_dirs,)
        score = score * closest / max(closest.max(), 1e-12)
    best = int(np.argmax(score))
    # picture x along the 2D shadow's long axis, so wide molecules come out wide
    cov = np.array([[cxx[best], cxy[best]], [cxy[best], cyy[best]]])
    w, v = np.linalg.eigh(cov)
    major = v[:, -1]
    ax_x = major[0] * ex[best] + major[1] * ey[best]
    ax_y = np.cross(dirs[best], ax_x)
    return np.vstack([ax_x, ax_y, dirs[best]])


LABEL_OFFSET_POINTS = 6.0  # an atom's label sits this far from its centre, on the side its bonds leave free


def label_directions(xy: np.ndarray, bonds) -> np.ndarray:
    """(n_atoms, 2) unit vectors: where each atom's label goes in the picture ``xy`` (n_atoms, 2). Along the
    bisector of the widest angle between the atom's bonds as drawn (opposite the bond of a terminal atom), so no
    label lies on a bond; away from the molecule's centre for an atom without bonds."""
    xy = np.asarray(xy, float)
    out = xy - xy.mean(axis=0)
    neighbours: dict[int, list[int]] = {}
    for i, j in bonds:
        neighbours.setdefault(int(i), []).append(int(j))
        neighbours.setdefault(int(j), []).append(int(i))
    for i, nbrs in neighbours.items():
        d = xy[nbrs] - xy[i]
        d = d[np.hypot(d[:, 0], d[:, 1]) > 1e-9]
        if not len(d):
            continue
        angles = np.sort(np.arctan2(d[:, 1], d[:, 0]))
        gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
        k = int(np.argmax(gaps))
        middle = angles[k] + gaps[k] / 2
        out[i] = np.cos(middle), np.sin(middle)
    norm = np.hypot(out[:, 0], out[:, 1])
    out[norm < 1e-9] = np.sqrt(0.5)  # the only atom, or one at the centre with no bond: up and right
    return out / np.hypot(out[:, 0], out[:, 1])[:, None]


def _alignment(component: float, positive: str, negative: str) -> str:
    """Text alignment for a label placed along a direction with this x (or y) component."""
    return positive if component > 0.38 else negative if component < -0.38 else "center"


def picture_aspect(xy: np.ndarray, pad_angstrom: float = 0.8) -> float:
    """Height / width of a figure that holds the picture ``xy`` (n_atoms, 2, Å, its long axis along x) at equal
    scale with room for labels: a flat molecule is not drawn in a square of white space (between 0.5 and 1)."""
    extent = np.ptp(np.asarray(xy, float), axis=0) if len(xy) else np.zeros(2)
    return float(np.clip((extent[1] + pad_angstrom) / (extent[0] + pad_angstrom), 0.5, 1.0))


def draw_molecule(coords: np.ndarray, symbols, bonds, reference: np.ndarray | None = None, highlight=(), names=None,
                  title: str = "", size_inches: float = 3.4, named_changes=((), ()), label_all: bool = False) -> bytes:
    """PNG of ``coords`` (n_atoms, 3, Å) superposed on ``reference`` (drawn faint behind, when given).

    Parameters
    ----------
    coords, reference : ndarray (n_atoms, 3), Å
    symbols : element of each atom
    bonds : (i, j) pairs to draw
    highlight : atoms drawn with an orange halo and labelled (the moving atoms, the atoms the motion names)
    names : atom names for the labels (``C1``…); heavy atoms and highlighted atoms are labelled (every atom with
        ``label_all``, seen from where no atom hides another)

    named_changes : (broken, formed) atom pairs the channel's words name (a channel's mean can break a bond its
        medoid has only stretched)

    A bond broken (with a ``reference``: :func:`bond_changes`, or named) is drawn dashed red, a bond formed dotted
    blue, and their atoms are highlighted.
    """
    coords = np.asarray(coords, float)
    names = list(names) if names is not None else [f"{s}{i + 1}" for i, s in enumerate(symbols)]
    ref = np.asarray(reference, float) if reference is not None else None
    broken, formed = bond_changes(coords, ref, symbols, bonds) if ref is not None else ([], [])
    broken = sorted(set(broken) | {tuple(sorted(map(int, b))) for b in named_changes[0]})
    formed = sorted(set(formed) | {tuple(sorted(map(int, b))) for b in named_changes[1]})
    highlight = sorted(set(int(i) for i in highlight) | {i for pair in broken + formed for i in pair})
    if ref is not None:
        coords = superpose(coords, ref)
    disp = (coords - ref)[highlight] if ref is not None and highlight else None
    axes = view_axes(ref if ref is not None else coords, disp, separate=label_all)
    centre = (ref if ref is not None else coords).mean(0)
    p = (coords - centre) @ axes.T
    fig, ax = plt.subplots(figsize=(size_inches, size_inches * picture_aspect(p[:, :2])))
    if ref is not None:
        q = (ref - centre) @ axes.T
        for i, j in bonds:
            ax.plot(q[[i, j], 0], q[[i, j], 1], color="#bbbbbb", lw=2.5, alpha=0.5, zorder=1, solid_capstyle="round")
        ax.scatter(q[:, 0], q[:, 1], s=28, color="#cccccc", alpha=0.5, zorder=1, linewidths=0)
        for i in highlight:
            ax.annotate("", p[i, :2], q[i, :2], arrowprops={"arrowstyle": "->", "color": HIGHLIGHT_COLOR, "lw": 1.2}, zorder=2)
    depth = p[:, 2]
    z0, z1 = depth.min(), depth.max() + 1e-9
    style = {**{tuple(sorted(b)): ("#333333", "-", 2.2) for b in bonds}, **{b: (BROKEN_COLOR, (0, (3, 2)), 1.6) for b in broken},
             **{b: (FORMED_COLOR, (0, (1, 1.5)), 1.8) for b in formed}}
    for (i, j), (color, line, width) in sorted(style.items(), key=lambda kv: depth[list(kv[0])].mean()):
        z = 3 + 2 * (depth[[i, j]].mean() - z0) / (z1 - z0)
        ax.plot(p[[i, j], 0], p[[i, j], 1], color=color, lw=width, ls=line, zorder=z, solid_capstyle="round")
    side = label_directions(p[:, :2], bonds)
    for i in np.argsort(depth):
        z = 3.01 + 2 * (depth[i] - z0) / (z1 - z0)
        big = 0 if symbols[i] == "H" else 1
        if i in highlight:
            ax.scatter(p[i, 0], p[i, 1], s=(220 if big else 130), color=HIGHLIGHT_COLOR, alpha=0.55, zorder=z, linewidths=0)
        ax.scatter(p[i, 0], p[i, 1], s=(90 if big else 40), color=ELEMENT_COLORS.get(symbols[i], "#ff69b4"),
                   edgecolors="k", linewidths=0.6, zorder=z + 0.001)
        if big or i in highlight or label_all:
            ax.annotate(names[i], p[i, :2], xytext=LABEL_OFFSET_POINTS * side[i], textcoords="offset points", fontsize=7,
                        zorder=10, ha=_alignment(side[i, 0], "left", "right"), va=_alignment(side[i, 1], "bottom", "top"),
                        weight="bold" if i in highlight else "normal", color="#b35900" if i in highlight else "#222222")
    ax.set_aspect("equal")
    ax.margins(0.12)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return _png(fig)
