"""The built-in demo ensemble: amino-oxo cytosine, Newton-X classic layout, planted channels.

Model (all energies from an analytic function of the geometry only):

* Geometry: planar amino-oxo cytosine built from representative MP2-level literature bond lengths and
  angles (N1–C2 1.417, C2–N3 1.370, N3–C4 1.311, C4–C5 1.435, C5–C6 1.356, C6–N1 1.355 Å;
  C2=O 1.216, C4–N 1.362 Å; ring angles at C2, N3, C4, C5 115.7, 121.0, 124.1, 115.4°, which close the
  ring with N1 123.2° and C6 120.6°).
  Atom order (= atom names in reports): N1 C2 N3 C4 C5 C6 O7 N8 H9(N1) H10(C5) H11(C6) H12 H13(N8).
* Thermal motion: classical thermal (Gaussian) oscillation along the normal modes of a spring network
  (bond and 1–3 springs in plane, a bond-graph Laplacian out of plane), scaled to ~0.05 Å RMS per atom.
* Channels: each trajectory follows one planted displacement ``d_c`` (C6 puckering, C5 puckering,
  NH2 out-of-plane [+]/[-] and C=O out-of-plane [+] as rigid rotations of the group about its ring
  atom, C2–O7 stretching); the deformation grows as
  (t/t_hop)^1.5 and relaxes partly after the hop. "[+]" is the side of the ring normal of
  :func:`analysis.features.geometry.ring_normal` for the ring N1..C6.
* Energies (eV): S0 = E_ref + V_vib + a ρ², S1 = S0 + sqrt((Δ0 (1 − ρ))² + ε²) with
  ρ = max_c q_c, q_c the positive part of the projection of the displacement on d_c / |d_c|² (for
  every planted d_c and its mirror image, so the PES is mirror-symmetric), S2 = S0 + Δ0 + 1.2 + ρ².
  ρ is the progress along the nearest channel, so channels need not be orthogonal (a motion and the
  same motion plus a second one both close the gap at their full deformation).
  The S1–S0 gap closes (to ε) where the planted deformation is complete; the S1→S0 hop happens there.
* Total energy is conserved to ~1e-5 Eh (E_kin = E_tot − E_active).

Files written per trajectory: ``TRAJn/RESULTS/{dyn.out,en.dat,typeofdyn.log,sh.out}`` with the
byte layout of Newton-X 2.x (bohr, hartree), and ``truth.csv`` next to the ensemble.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.elements import ATOMIC_NUMBERS, MASSES_AMU
from analysis.units import AU_TIME_TO_FS, BOHR_TO_ANGSTROM, HARTREE_TO_EV

log = logging.getLogger(__name__)

SYMBOLS = ["N", "C", "N", "C", "C", "C", "O", "N", "H", "H", "H", "H", "H"]
RING = [0, 1, 2, 3, 4, 5]
E_REF_HARTREE = -392.9
GAP0_EV = 4.6
GAP_MIN_EV = 0.05
S0_RISE_EV = 1.2


@dataclass(frozen=True)
class Channel:
    """A planted deactivation channel: its name, share, hop-time distribution and displacement."""

    name: str
    share: float
    hop_mean_fs: float
    hop_sd_fs: float
    # ("translate", atoms, "normal" | "bond:<atom>", amplitude Å): rigid shift along the ring normal or a bond;
    # ("rotate", atoms, pivot atom, angle deg): rigid rotation about the pivot, out of the ring plane
    # (positive = towards the +normal side); bond lengths and angles in the group are preserved;
    # ("twist", atoms, (a, b), angle deg): rigid rotation about the bond a→b (a torsion).
    displacement: tuple


CHANNELS = (
    Channel("C6 puckering [+]", 0.25, 35.0, 8.0, (("translate", (5, 10), "normal", 0.55),)),
    Channel("C5 puckering [+]", 0.20, 55.0, 10.0, (("translate", (4, 9), "normal", 0.55),)),
    Channel("NH2 out-of-plane [+]", 0.15, 80.0, 12.0, (("rotate", (7, 11, 12), 3, 35.0),)),
    Channel("NH2 out-of-plane [-]", 0.15, 80.0, 12.0, (("rotate", (7, 11, 12), 3, -35.0),)),
    Channel("C2-O7 stretching", 0.15, 105.0, 15.0, (("translate", (6,), "bond:1", 0.45),)),
    Channel("C=O out-of-plane [+]", 0.10, 130.0, 15.0, (("rotate", (6,), 1, 35.0),)),
)


def _turtle_ring(bonds, interior_deg):
    """Planar ring from bond lengths (i→i+1) and interior angles at atoms 1..n-1 (xy plane)."""
    pts = [np.zeros(2)]
    heading = 0.0
    for k, length in enumerate(bonds):
        pts.append(pts[-1] + length * np.array([np.cos(heading), np.sin(heading)]))
        if k < len(interior_deg):
            heading += np.deg2rad(180.0 - interior_deg[k])
    return np.array(pts)


def _bisector_out(center, a, b):
    u = (center - a) / np.linalg.norm(center - a) + (center - b) / np.linalg.norm(center - b)
    return u / np.linalg.norm(u)


def equilibrium_geometry() -> np.ndarray:
    """Planar amino-oxo cytosine, (13, 3) in Å, atom order as in :data:`SYMBOLS`."""
    ring2d = _turtle_ring([1.417, 1.370, 1.311, 1.435, 1.356], [115.7, 121.0, 124.1, 115.4])
    ring = np.column_stack([ring2d, np.zeros(6)])
    xyz = np.zeros((13, 3))
    xyz[:6] = ring
    n1, c2, n3, c4, c5, c6 = ring
    xyz[6] = c2 + 1.216 * _bisector_out(c2, n1, n3)  # O7
    xyz[7] = c4 + 1.362 * _bisector_out(c4, n3, c5)  # N8 (amino)
    xyz[8] = n1 + 1.007 * _bisector_out(n1, c2, c6)  # H9
    xyz[9] = c5 + 1.078 * _bisector_out(c5, c4, c6)  # H10
    xyz[10] = c6 + 1.080 * _bisector_out(c6, c5, n1)  # H11
    n8 = xyz[7]
    axis = (n8 - c4) / np.linalg.norm(n8 - c4)
    perp = np.array([-axis[1], axis[0], 0.0])
    toward_n3 = perp if np.dot(perp, n3 - c4) > 0 else -perp
    for idx, side in ((11, toward_n3), (12, -toward_n3)):  # planar NH2, C4–N8–H 120°
        xyz[idx] = n8 + 1.006 * (np.cos(np.deg2rad(60)) * axis + np.sin(np.deg2rad(60)) * side)
    return xyz - xyz.mean(axis=0)


def pyrrole_geometry() -> np.ndarray:
    """Planar pyrrole (C2v), (10, 3) in Å: N1 C2 C3 C4 C5 H6(N1) H7(C2) H8(C3) H9(C4) H10(C5).

    Microwave structure (Nygaard et al. 1969): N1–C2 1.370, C2–C3 1.382, C3–C4 1.417 Å; angles at C2 107.7°,
    C3 107.4° (N1 109.8°); N–H 1.00, C–H 1.08 Å on the external bisectors.
    """
    ring2d = _turtle_ring([1.370, 1.382, 1.417, 1.382], [107.7, 107.4, 107.4])
    ring = np.column_stack([ring2d, np.zeros(5)])
    xyz = np.zeros((10, 3))
    xyz[:5] = ring
    for k in range(5):
        length = 1.00 if k == 0 else 1.08
        xyz[5 + k] = ring[k] + length * _bisector_out(ring[k], ring[k - 1], ring[(k + 1) % 5])
    return xyz - xyz.mean(axis=0)


def butadiene_geometry() -> np.ndarray:
    """Planar s-trans-1,3-butadiene (C2h), (10, 3) in Å: C1 C2 C3 C4 H5 H6(C1) H7(C2) H8(C3) H9 H10(C4).

    C=C 1.338, C–C 1.454, C–H 1.09 Å, C=C–C 123.6°, H–C–H and C=C–H 120° (electron diffraction, rounded).
    """
    def unit(deg):
        return np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg)), 0.0])

    c2, c3 = np.zeros(3), np.array([1.454, 0.0, 0.0])
    c1 = c2 + 1.338 * unit(123.6)
    c4 = c3 + 1.338 * unit(-56.4)
    xyz = np.array([c1, c2, c3, c4, np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)])
    for h, (c, partner) in zip((4, 5), ((c1, c2), (c1, c2))):
        base = np.degrees(np.arctan2(*(partner - c)[1::-1]))
        xyz[h] = c + 1.09 * unit(base + (120.0 if h == 4 else -120.0))
    for h, (c, partner) in zip((8, 9), ((c4, c3), (c4, c3))):
        base = np.degrees(np.arctan2(*(partner - c)[1::-1]))
        xyz[h] = c + 1.09 * unit(base + (120.0 if h == 8 else -120.0))
    xyz[6] = c2 + 1.09 * _bisector_out(c2, c1, c3)
    xyz[7] = c3 + 1.09 * _bisector_out(c3, c2, c4)
    return xyz - xyz.mean(axis=0)


@dataclass(frozen=True, eq=False)
class Molecule:
    """A demo molecule: its atoms, equilibrium geometry (Å) and the atoms whose mean plane defines "[+]"."""

    name: str
    symbols: tuple
    xyz: np.ndarray
    plane: tuple
    e_ref_hartree: float


MOLECULES = {
    "cytosine": Molecule("cytosine", tuple(SYMBOLS), equilibrium_geometry(), tuple(RING), E_REF_HARTREE),
    "pyrrole": Molecule("pyrrole", ("N", "C", "C", "C", "C", "H", "H", "H", "H", "H"), pyrrole_geometry(),
                        (0, 1, 2, 3, 4), -208.8),
    "butadiene": Molecule("butadiene", ("C", "C", "C", "C", "H", "H", "H", "H", "H", "H"), butadiene_geometry(),
                          (0, 1, 2, 3), -155.0),
}


def _pairs(xyz, symbols):
    """Bonds (covalent radii, as the topology perceives them), 1–3 pairs, and the bonded matrix."""
    from analysis.topology import perceive_bonds

    n = len(symbols)
    bonds = np.array(perceive_bonds(symbols, xyz, method="covalent"), dtype=int).reshape(-1, 2)
    bonded = np.zeros((n, n), dtype=bool)
    bonded[bonds[:, 0], bonds[:, 1]] = bonded[bonds[:, 1], bonds[:, 0]] = True
    second = (bonded.astype(int) @ bonded.astype(int) > 0) & ~bonded & ~np.eye(n, dtype=bool)
    return bonds, np.argwhere(np.triu(second)), bonded


def spring_hessian(xyz, symbols, k_bond=30.0, k_13=5.0, k_z=3.0):
    """Cartesian Hessian (eV/Å²) of a spring network around ``xyz`` (bonds, 1–3 pairs, z Laplacian)."""
    n = len(symbols)
    bonds, second, bonded = _pairs(xyz, symbols)
    hess = np.zeros((3 * n, 3 * n))
    for pairs, k in ((bonds, k_bond), (second, k_13)):
        for i, j in pairs:
            u = xyz[j] - xyz[i]
            block = k * np.outer(u, u) / np.dot(u, u)
            for a, b, sgn in ((i, i, 1), (j, j, 1), (i, j, -1), (j, i, -1)):
                hess[3 * a:3 * a + 3, 3 * b:3 * b + 3] += sgn * block
    lap = np.diag(bonded.sum(1)) - bonded.astype(float)
    hess[2::3, 2::3] += k_z * lap
    return hess


def normal_modes(xyz, symbols):
    """Mass-weighted normal modes of the spring network: (omega_rad_per_fs, cartesian modes (m, n, 3))."""
    masses = np.array([MASSES_AMU[s] for s in symbols])
    m3 = np.repeat(masses, 3)
    hess = spring_hessian(xyz, symbols)
    w2, vec = np.linalg.eigh(hess / np.sqrt(np.outer(m3, m3)))
    keep = w2 > 1e-3 * w2.max()
    # eV/(Å² amu) -> 1/fs²: 1 eV = 1.602176634e-19 J, 1 amu Å² fs⁻² = 1.66053907e-27*1e-20/1e-30 J
    to_fs2 = 1.602176634e-19 / (1.66053906660e-27 * 1e-20 / 1e-30)
    omega = np.sqrt(w2[keep] * to_fs2)
    modes = (vec[:, keep] / np.sqrt(m3)[:, None]).T
    # LAPACK's eigenvector signs depend on the BLAS kernel (SkylakeX vs Haswell): fix them (largest Cartesian
    # component positive), so the demo's thermal motion — and every number a test reads — is the same everywhere.
    modes *= np.sign(modes[np.arange(len(modes)), np.abs(modes).argmax(axis=1)])[:, None]
    modes = modes.reshape(-1, len(symbols), 3)
    return omega, modes


def channel_displacement(xyz: np.ndarray, channel: Channel, progress: np.ndarray, plane=tuple(RING)) -> np.ndarray:
    """Displacement (n_t, n_atoms, 3) in Å of ``channel`` at progress values (n_t,) (1 = full deformation);
    ``plane``: the atoms whose mean-plane normal is the "+" side."""
    from analysis.features.geometry import ring_normal

    normal = ring_normal(xyz[list(plane)])
    progress = np.atleast_1d(np.asarray(progress, dtype=float))
    out = np.zeros((progress.size, len(xyz), 3))
    for kind, atoms, where, amount in channel.displacement:
        atoms = list(atoms)
        if kind == "translate":
            if where == "normal":
                direction = normal
            else:
                partner = int(where.split(":")[1])
                direction = (xyz[atoms[0]] - xyz[partner]) / np.linalg.norm(xyz[atoms[0]] - xyz[partner])
            out[:, atoms] += progress[:, None, None] * amount * direction
        else:
            if kind == "twist":  # rigid rotation about the bond where = (a, b), through a
                pivot = xyz[where[0]]
                k = (xyz[where[1]] - pivot) / np.linalg.norm(xyz[where[1]] - pivot)
            else:
                pivot = xyz[where]
                bond = (xyz[atoms[0]] - pivot) / np.linalg.norm(xyz[atoms[0]] - pivot)
                k = np.cross(bond, normal)  # rotating about k moves the bond towards +normal
            theta = np.radians(amount) * progress[:, None, None]
            v = xyz[atoms] - pivot
            rotated = (v * np.cos(theta) + np.cross(k, v) * np.sin(theta)
                       + k * (v @ k)[:, None] * (1 - np.cos(theta)))
            out[:, atoms] += rotated - v
    return out


def channel_vectors(xyz: np.ndarray, channels=CHANNELS, plane=tuple(RING)) -> np.ndarray:
    """Full planted displacement for each channel, (n_channels, n_atoms, 3) in Å."""
    return np.stack([channel_displacement(xyz, c, 1.0, plane)[0] for c in channels])


# The cascade variant (``generate_demo(cascade=True)``): S2→S1 through one of two C=O motions, then S1→S0
# through one of two lower channels after a delay (hop_mean_fs is the delay after the S2→S1 hop), or no
# S1→S0 hop at all ("S1 trapped": the trajectory never reaches S0, as many real ones).
UPPER_CHANNELS = (
    Channel("C=O out-of-plane [+]", 0.5, 30.0, 6.0, (("rotate", (6,), 1, 35.0),)),
    Channel("C2-O7 stretching", 0.5, 30.0, 6.0, (("translate", (6,), "bond:1", 0.45),)),
)
LOWER_CHANNELS = (
    Channel("C6 puckering [+]", 0.4, 60.0, 10.0, (("translate", (5, 10), "normal", 0.55),)),
    Channel("NH2 out-of-plane [+]", 0.35, 70.0, 10.0, (("rotate", (7, 11, 12), 3, 35.0),)),
)
TRAPPED_SHARE = 0.25
UPPER_GAP_EV = 1.2


def align_to(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each frame (n, n_atoms, 3) rotated and translated onto ``reference`` (Kabsch, equal weights), Å."""
    centred = coords - coords.mean(axis=1, keepdims=True)
    ref_c = reference.mean(axis=0)
    h = np.einsum("fai,aj->fij", centred, reference - ref_c)
    u, _, vt = np.linalg.svd(h)
    flip = np.sign(np.linalg.det(u @ vt))
    u[:, :, -1] *= flip[:, None]
    return centred @ (u @ vt) + ref_c


class DemoPES:
    """Analytic S0/S1/S2 energies (eV) as a function of geometry only, symmetric under the ring-plane mirror.

    Invariant under rotation and translation: each frame is first aligned onto the equilibrium geometry
    (Kabsch), so the energies are a function of the internal geometry that any invariant descriptor can learn.

    Channel coordinates are the positive parts of the projections q_c = Δx·d_c/|d_c|² on every planted
    displacement and its mirror image through the (planar) equilibrium ring plane; ρ = max_c q_c.
    """

    def __init__(self, xyz_eq: np.ndarray, symbols=SYMBOLS, channels=CHANNELS, upper_channels=(), plane=tuple(RING),
                 e_ref_hartree: float = E_REF_HARTREE):
        self.xyz_eq = xyz_eq
        self.plane = tuple(plane)
        self.e_ref_ev = e_ref_hartree * HARTREE_TO_EV
        self.hess = spring_hessian(xyz_eq, symbols)
        self.directions = self._directions(xyz_eq, channels, self.plane)
        self.upper_directions = self._directions(xyz_eq, upper_channels, self.plane) if upper_channels else None

    @staticmethod
    def _directions(xyz_eq, channels, plane):
        """Planted displacements (their rotation removed) and mirror images, scaled so that q = Δx·d/|d|²."""
        from analysis.features.geometry import ring_normal

        d = channel_vectors(xyz_eq, channels, plane)
        d = align_to(xyz_eq[None] + d, xyz_eq) - xyz_eq
        n = ring_normal(xyz_eq[list(plane)])
        mirrored = d - 2.0 * (d @ n)[..., None] * n
        dirs = []
        for v in np.concatenate([d, mirrored]).reshape(2 * len(d), -1):
            if not any(np.allclose(v, w, atol=1e-9) for w in dirs):
                dirs.append(v)
        dirs = np.array(dirs)
        return dirs / (dirs**2).sum(axis=1, keepdims=True)

    def energies_ev(self, coords: np.ndarray) -> np.ndarray:
        """(n_frames, 3) absolute adiabatic energies in eV for coords (n_frames, n_atoms, 3) in Å.

        With ``upper_channels`` the S2–S1 gap closes along them: S2 = S1 + sqrt((1.2 eV (1 − ρ_u))² + ε²).
        """
        dx = (align_to(coords, self.xyz_eq) - self.xyz_eq).reshape(len(coords), -1)
        v_vib = 0.5 * np.einsum("fi,ij,fj->f", dx, self.hess, dx)
        q = np.clip(dx @ self.directions.T, 0.0, None)
        rho2 = q.max(axis=1) ** 2
        s0 = self.e_ref_ev + v_vib + S0_RISE_EV * rho2
        gap = np.sqrt((GAP0_EV * (1.0 - np.sqrt(rho2))) ** 2 + GAP_MIN_EV**2)
        if self.upper_directions is None:
            return np.column_stack([s0, s0 + gap, s0 + GAP0_EV + 1.2 + rho2])
        rho_u = np.clip(dx @ self.upper_directions.T, 0.0, None).max(axis=1)
        gap_u = np.sqrt((UPPER_GAP_EV * (1.0 - rho_u)) ** 2 + GAP_MIN_EV**2)
        return np.column_stack([s0, s0 + gap, s0 + gap + gap_u])


def _fmt_block_text(step, state_pre, time_fs, nhop, initial, symbols, z, xyz_bohr, masses, vel, etot, ekin, e, dE, pops):
    word = "Initial" if initial else "New"
    lines = [
        f"STEP{step:9d}    Molecular dynamics on state{state_pre:3d}    TIME ={time_fs:11.2f} fs",
        f"Type of dyn. ={4:5d}    N. of hoppings ={nhop:5d}    N. of rejec. hoppings ={0:5d}",
        " ",
        f"  {word} geometry: ",
    ]
    lines += [f" {s:<2s}{zz:7.1f}{x:14.8f}{y:14.8f}{w:14.8f}{m:14.8f}" for s, zz, (x, y, w), m in zip(symbols, z, xyz_bohr, masses)]
    lines += [" ", f"  {word} velocity: "]
    lines += [f"{a:14.8f}{b:14.8f}{c:14.8f}" for a, b, c in vel]
    lines += [" ", "     Time    Etot         Ekin       Epot E0,      E1, ...",
              f"%{time_fs:11.2f}{etot:14.6f}{ekin:14.6f}" + "".join(f"{v:14.6f}" for v in e),
              f"Etot variation ={dE:10.6f} au    Worse conservation ={dE:10.6f} au", " "]
    lines += [f" Wave function state{i + 1:3d}:{np.sqrt(p):25.14f}{0.0:25.14f}" for i, p in enumerate(pops)]
    lines += [" ", " ------------", " "]
    return "\n".join(lines) + "\n"


def _block_template(symbols, z, masses, n_states: int, initial: bool) -> str:
    """A %-format string of one dyn.out block (the layout of :func:`_fmt_block_text`) with the per-frame numbers
    as placeholders, in the order of :func:`_block_values`; one ``%`` call per frame instead of one f-string per number."""
    word = "Initial" if initial else "New"
    lines = ["STEP%9d    Molecular dynamics on state%3d    TIME =%11.2f fs",
             "Type of dyn. =    4    N. of hoppings =%5d    N. of rejec. hoppings =    0", " ", f"  {word} geometry: "]
    lines += [f" {s:<2s}{zz:7.1f}%14.8f%14.8f%14.8f{m:14.8f}" for s, zz, m in zip(symbols, z, masses)]
    lines += [" ", f"  {word} velocity: "] + ["%14.8f%14.8f%14.8f"] * len(symbols)
    lines += [" ", "     Time    Etot         Ekin       Epot E0,      E1, ...", "%%%11.2f%14.6f%14.6f" + "%14.6f" * n_states,
              "Etot variation =%10.6f au    Worse conservation =%10.6f au", " "]
    lines += [f" Wave function state{i + 1:3d}:%25.14f{0.0:25.14f}" for i in range(n_states)]
    lines += [" ", " ------------", " "]
    return "\n".join(lines) + "\n"


def _block_values(pre_state, time_fs, nhop, xyz_bohr, vel, etot, ekin, e_h, populations) -> np.ndarray:
    """(n_frames, n_values) numbers of every dyn.out block, in the placeholder order of :func:`_block_template`."""
    n = len(time_fs)
    d_e = (etot - etot[0])[:, None]
    return np.column_stack([np.arange(n), pre_state, time_fs, nhop, xyz_bohr.reshape(n, -1), vel.reshape(n, -1),
                            time_fs, etot, ekin, e_h, d_e, d_e, np.sqrt(populations)])


SH_OUT_HEADER = """ -----------------------
   integrator =       5
   phase      =       1
   nohop      =       0
   forcesurf  =       1
   getphase   =       1
   nrelax     =       0
   vdoth      =       0
   tully      =       1
   ms         =      20
   mom        =       1
   seed       =       1
   adjmom     =    0.00
   probmin    =  0.0000
   popdev     =   0.050
   decay      =  0.1000
 -----------------------
"""


def thermal_motion(rng, omega, modes, time_fs, thermal_rms=0.05) -> np.ndarray:
    """Classical thermal oscillation along the normal modes, (n_t, n_atoms, 3) Å, scaled to ``thermal_rms`` per atom.

    Each mode moves as a cos ωt + b sin ωt with a, b ~ N(0, 1/ω²) (equipartition): a Rayleigh amplitude and a
    uniform phase, so every coordinate is Gaussian across the ensemble at any time, as in a Boltzmann or
    Wigner sample (a fixed amplitude would give a two-peaked arcsine distribution that looks like sub-channels).
    """
    amp = 1.0 / np.maximum(omega, 1e-6)
    a, b = rng.normal(size=(2, omega.size))
    wt = omega[None, :] * time_fs[:, None]
    osc = amp[None, :] * (a[None, :] * np.cos(wt) + b[None, :] * np.sin(wt))  # (nt, m)
    thermal = np.einsum("tm,mai->tai", osc, modes)
    return thermal * thermal_rms / np.sqrt((thermal**2).sum(axis=2).mean())


def simulate_cascade_trajectory(rng, xyz_eq, omega, modes, pes, upper: int, lower: int | None, time_fs, thermal_rms=0.05):
    """One S2→S1(→S0) trajectory: coords (Å), energies (eV), active state, hop times (t21, t10 or None).

    The upper motion grows as (t/t21)^1.5 and relaxes (τ 25 fs) after the S2→S1 hop; the lower one then grows
    over the delay and completes at the S1→S0 hop (``lower`` None: it wanders to 40 % and never completes).
    """
    dt = time_fs[1] - time_fs[0]
    up = UPPER_CHANNELS[upper]
    t21 = float(np.round(np.clip(rng.normal(up.hop_mean_fs, up.hop_sd_fs), 10.0, time_fs[-1] / 3) / dt) * dt)
    t10 = None
    if lower is not None:
        low = LOWER_CHANNELS[lower]
        delay = np.clip(rng.normal(low.hop_mean_fs, low.hop_sd_fs), 25.0, time_fs[-1] - t21 - 20.0)
        t10 = float(np.round((t21 + delay) / dt) * dt)
    thermal = thermal_motion(rng, omega, modes, time_fs, thermal_rms)
    p_up = np.where(time_fs <= t21, (time_fs / t21) ** 1.5, np.exp(-(time_fs - t21) / 25.0)) * rng.normal(1.0, 0.02)
    after = np.clip(time_fs - t21, 0.0, None)
    if t10 is None:
        p_low = 0.4 * (1.0 - np.exp(-after / 40.0))
        disp_low = channel_displacement(xyz_eq, LOWER_CHANNELS[int(rng.integers(len(LOWER_CHANNELS)))], p_low)
    else:
        p_low = np.where(time_fs <= t10, (after / (t10 - t21)) ** 1.5, 0.35 + 0.65 * np.exp(-(time_fs - t10) / 50.0))
        disp_low = channel_displacement(xyz_eq, LOWER_CHANNELS[lower], p_low * rng.normal(1.0, 0.02))
    coords = xyz_eq[None] + thermal + channel_displacement(xyz_eq, up, p_up) + disp_low
    active = np.where(time_fs < t21, 3, 2)
    if t10 is not None:
        active = np.where(time_fs >= t10, 1, active)
    return coords, pes.energies_ev(coords), active, t21, t10


def simulate_trajectory(rng, xyz_eq, omega, modes, pes, channel_index, time_fs, thermal_rms=0.05, channels=CHANNELS):
    """Coordinates (Å), energies (eV), hop time for one trajectory planted in ``channels[channel_index]``."""
    channel = channels[channel_index]
    dt = time_fs[1] - time_fs[0]
    # from 10 fs to 30 fs before the end; a run shorter than 40 fs hops at 10 fs (or after its end), never before t = 0
    hop = float(np.clip(rng.normal(channel.hop_mean_fs, channel.hop_sd_fs), 10.0, max(10.0, time_fs[-1] - 30.0)))
    hop = float(np.round(hop / dt) * dt)
    thermal = thermal_motion(rng, omega, modes, time_fs, thermal_rms)
    progress = np.where(time_fs <= hop, (time_fs / hop) ** 1.5, 0.35 + 0.65 * np.exp(-(time_fs - hop) / 50.0))
    progress *= rng.normal(1.0, 0.02)
    coords = xyz_eq[None] + thermal + channel_displacement(xyz_eq, channel, progress, pes.plane)
    energies = pes.energies_ev(coords)
    return coords, energies, hop


def write_newtonx_trajectory(folder, symbols, time_fs, coords_angstrom, energies_ev, active_state, populations, dt_fs, truncate_at=None, energy_jump_ev=None):
    """Write dyn.out, en.dat, typeofdyn.log, sh.out in Newton-X classic layout (bohr, hartree).

    ``active_state`` is post-hop (en.dat convention); the dyn.out STEP header gets the pre-hop state.
    ``truncate_at``: frame index at which the run "crashes" (the block is cut after its geometry).
    ``energy_jump_ev``: (n_frames,) shift added to every potential energy *after* E_kin is fixed, so the
    total energy jumps too (an electronic-structure glitch).
    """
    res = Path(folder) / "RESULTS"
    res.mkdir(parents=True, exist_ok=True)
    z = np.array([ATOMIC_NUMBERS[s] for s in symbols], dtype=float)
    masses = np.array([MASSES_AMU[s] for s in symbols])
    xyz_bohr = coords_angstrom / BOHR_TO_ANGSTROM
    vel = np.gradient(xyz_bohr, dt_fs / AU_TIME_TO_FS, axis=0)
    e_h = energies_ev / HARTREE_TO_EV
    n = len(time_fs)
    e_active = e_h[np.arange(n), active_state - 1]
    etot = max(e_h[0, active_state[0] - 1] + 0.5 / HARTREE_TO_EV, e_active.max() + 0.05 / HARTREE_TO_EV)
    rng = np.random.default_rng(int(time_fs.size + active_state.sum()))
    etot_t = etot + rng.normal(0, 1e-5, size=n)
    ekin = etot_t - e_active
    if energy_jump_ev is not None:
        shift = np.asarray(energy_jump_ev) / HARTREE_TO_EV
        e_h = e_h + shift[:, None]
        energies_ev = energies_ev + np.asarray(energy_jump_ev)[:, None]
        e_active = e_active + shift
        etot_t = etot_t + shift
    pre_state = np.concatenate([[active_state[0]], active_state[:-1]])
    nhop = np.concatenate([[0], np.cumsum(active_state[1:] != active_state[:-1])])
    n_write = n if truncate_at is None else truncate_at
    out = [" ", "      *** Molecular Dynamics ***", " ", f"Output printed at each kt=   1 steps ({dt_fs:5.2f} fs).", " ", ""]
    text = "\n".join(out)
    parts = [text]
    values = _block_values(pre_state, time_fs, nhop, xyz_bohr, vel, etot_t, ekin, e_h, populations)[:n_write].tolist()
    templates = [_block_template(symbols, z, masses, e_h.shape[1], initial) for initial in (True, False)]
    parts += [templates[i > 0] % tuple(row) for i, row in enumerate(values)]
    if truncate_at is not None:  # crashed mid-block: header and geometry only
        blk = _fmt_block_text(truncate_at, pre_state[truncate_at], time_fs[truncate_at], nhop[truncate_at], False, symbols, z, xyz_bohr[truncate_at], masses, vel[truncate_at], 0, 0, e_h[truncate_at], 0, populations[truncate_at])
        parts.append(blk.split("\n \n  New velocity")[0] + "\n")
    (res / "dyn.out").write_text("".join(parts), encoding="utf-8")
    rows = range(n_write)
    (res / "en.dat").write_text("".join(
        f"{time_fs[i]:10.2f}" + "".join(f"{v:14.6f}" for v in e_h[i]) + f"{e_active[i]:14.6f}{etot_t[i]:14.6f}\n" for i in rows),
        encoding="utf-8")
    gaps = np.diff(energies_ev, axis=1)
    tod = []
    for i in rows:
        s = active_state[i]
        de_inf = "-----" if s == 1 else f"{gaps[i, s - 2]:5.2f}"
        de_sup = "-----" if s == e_h.shape[1] else f"{gaps[i, s - 1]:5.2f}"
        tod.append(f"Time ={time_fs[i]:10.2f}   Threshold=****   PES = {s}   DE_inf = {de_inf}   DE_sup = {de_sup}   Type = 4   Next type = 4\n")
    (res / "typeofdyn.log").write_text("".join(tod), encoding="utf-8")
    sh = [SH_OUT_HEADER]
    for f in np.flatnonzero(active_state[1:n_write] != active_state[: n_write - 1]) + 1:
        d_e = energies_ev[f, active_state[f] - 1] - energies_ev[f, active_state[f - 1] - 1]
        sh.append("------------------------------------------------------------------------\n"
                  f"     SURFACE HOPPING! THE SURFACE CHANGES FROM{active_state[f - 1]:4d} TO{active_state[f]:4d}\n"
                  f"     CYCLE COUNT:{int(round(time_fs[f] / dt_fs)):9d}\n"
                  f"     POTENTIAL ENERGY VARIATION (eV){d_e:20.10f}\n"
                  "------------------------------------------------------------------------\n")
    (res / "sh.out").write_text("".join(sh), encoding="utf-8")


def channel_counts(n: int, shares) -> np.ndarray:
    """Exact per-channel counts summing to n (largest-remainder rounding of n*share)."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    raw = n * shares
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


def generate_demo(out_dir, n_trajectories=200, seed=20221, t_max_fs=200.0, dt_fs=0.5, broken_fraction=0.03, thermal_rms_angstrom=0.05,
                  cascade: bool = False, channels=None, molecule: str = "cytosine"):
    """Write the demo ensemble to ``out_dir/ensemble/TRAJn`` and ``out_dir/truth.csv``.

    Parameters
    ----------
    out_dir : path
    n_trajectories : int
    seed : int
        Seeds everything (channel assignment, hop times, thermal phases, broken members).
    t_max_fs, dt_fs : float
        Simulated time and output step.
    broken_fraction : float
        Share of trajectories deliberately broken (half ``energy_jump``, half ``truncated``).
    channels : sequence of :class:`Channel`, optional
        The planted S1→S0 channels (default :data:`CHANNELS`); the PES closes the gap along each.
    cascade : bool
        Start on S2: an S2→S1 hop through one of :data:`UPPER_CHANNELS`, then S1→S0 through one of
        :data:`LOWER_CHANNELS` or never (``S1 trapped``, :data:`TRAPPED_SHARE`). Cytosine only.
    molecule : str
        A key of :data:`MOLECULES` (cytosine, pyrrole, butadiene); ``channels`` index its atoms.

    Returns
    -------
    DataFrame: trajectory_id, channel, hop_time_fs, broken (the S1→S0 channel and hop; '' and NaN when
    trapped), broken_at_fs (time of the planted energy jump or crash); with ``cascade`` also channel_S2_S1
    and hop_time_S2_S1_fs.
    """
    out_dir = Path(out_dir)
    ens = out_dir / "ensemble"
    ens.mkdir(parents=True, exist_ok=True)
    if molecule not in MOLECULES:
        raise ValueError(f"demo molecule {molecule!r}: expected one of {', '.join(MOLECULES)}")
    mol = MOLECULES[molecule]
    if cascade and molecule != "cytosine":
        raise ValueError("the cascade demo is planted on cytosine only")
    if channels is None and molecule != "cytosine":
        raise ValueError(f"demo molecule {molecule}: give its channels (the default ones are cytosine's)")
    rng = np.random.default_rng(seed)
    xyz_eq, symbols = mol.xyz, list(mol.symbols)
    omega, modes = normal_modes(xyz_eq, symbols)
    channels = tuple(channels or CHANNELS)
    pes = (DemoPES(xyz_eq, symbols, channels=LOWER_CHANNELS, upper_channels=UPPER_CHANNELS) if cascade
           else DemoPES(xyz_eq, symbols, channels=channels, plane=mol.plane, e_ref_hartree=mol.e_ref_hartree))
    time_fs = np.round(np.arange(0.0, t_max_fs + dt_fs / 2, dt_fs), 6)
    labels, upper = _planted_labels(rng, n_trajectories, channels, cascade)
    broken = _broken_members(rng, n_trajectories, broken_fraction)
    rows = []
    for k in range(n_trajectories):
        tid = f"TRAJ{k + 1}"
        row = {"trajectory_id": tid}
        if cascade:
            lower = int(labels[k]) if labels[k] < len(LOWER_CHANNELS) else None
            coords, energies, active, t21, hop = simulate_cascade_trajectory(
                rng, xyz_eq, omega, modes, pes, int(upper[k]), lower, time_fs, thermal_rms_angstrom)
            row.update(channel_S2_S1=UPPER_CHANNELS[upper[k]].name, hop_time_S2_S1_fs=t21,
                       channel=LOWER_CHANNELS[lower].name if lower is not None else "", hop_time_fs=hop if hop is not None else np.nan)
            pops = np.eye(3)[active - 1]
        else:
            coords, energies, hop = simulate_trajectory(rng, xyz_eq, omega, modes, pes, labels[k], time_fs, thermal_rms_angstrom,
                                                        channels)
            active = np.where(time_fs < hop, 2, 1)
            pop_s0 = 1.0 / (1.0 + np.exp(-(time_fs - hop) / 5.0))
            pops = np.column_stack([pop_s0, 1 - pop_s0, np.zeros_like(pop_s0)])
            row.update(channel=channels[labels[k]].name, hop_time_fs=hop)
        truncate_at, jump, broken_at = _breakage(rng, broken[k], time_fs)
        write_newtonx_trajectory(ens / tid, symbols, time_fs, coords, energies, active, pops, dt_fs, truncate_at, jump)
        rows.append({**row, "broken": broken[k], "broken_at_fs": broken_at})
        if (k + 1) % 50 == 0 or k + 1 == n_trajectories:
            log.info("demo: wrote %d/%d trajectories", k + 1, n_trajectories)
    truth = pd.DataFrame(rows)
    truth.to_csv(out_dir / "truth.csv", index=False)
    return truth


def _planted_labels(rng, n_trajectories: int, channels, cascade: bool):
    """Each trajectory's S1→S0 channel index (exact shares, shuffled) and, for the cascade, its S2→S1 one
    (None otherwise); with the cascade, index len(LOWER_CHANNELS) means trapped in S1."""
    upper = None
    if cascade:
        upper = np.repeat(np.arange(len(UPPER_CHANNELS)), channel_counts(n_trajectories, [c.share for c in UPPER_CHANNELS]))
        rng.shuffle(upper)
        shares = [c.share for c in LOWER_CHANNELS] + [TRAPPED_SHARE]
        labels = np.repeat(np.arange(len(shares)), channel_counts(n_trajectories, shares))
    else:
        labels = np.repeat(np.arange(len(channels)), channel_counts(n_trajectories, [c.share for c in channels]))
    rng.shuffle(labels)
    return labels, upper


def _broken_members(rng, n_trajectories: int, broken_fraction: float) -> np.ndarray:
    """'' for sound trajectories, 'energy_jump' for half the broken ones, 'truncated' for the rest."""
    n_broken = int(round(broken_fraction * n_trajectories))
    broken = np.array([""] * n_trajectories, dtype=object)
    if n_broken:
        idx = rng.choice(n_trajectories, size=n_broken, replace=False)
        broken[idx[: (n_broken + 1) // 2]] = "energy_jump"
        broken[idx[(n_broken + 1) // 2:]] = "truncated"
    return broken


def _breakage(rng, kind: str, time_fs: np.ndarray):
    """(frame the run is cut at or None, per-frame energy jump in eV or None, time of the damage in fs or NaN)."""
    if kind == "energy_jump":
        j = int(rng.integers(len(time_fs) // 4, len(time_fs) // 2))
        return None, np.where(np.arange(len(time_fs)) >= j, 0.8, 0.0), float(time_fs[j])
    if kind == "truncated":
        truncate_at = int(rng.integers(len(time_fs) // 5, len(time_fs) // 3))
        return truncate_at, None, float(time_fs[truncate_at])
    return None, None, np.nan
