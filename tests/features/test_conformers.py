"""Cremer–Pople parameters and Boeyens conformer labels on textbook rings built analytically.

A ring with known (Q, θ, φ) is built by placing the atoms on a regular polygon (radius for 1.52 Å bonds)
and displacing them along the normal by the Cremer–Pople modes
z_j = sqrt(2/N) q2 cos(φ + 4πj/N) + sqrt(1/N) q3 (−1)^j  (q2 = Q sin θ, q3 = Q cos θ; N = 5 has no q3).
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analysis.features.conformers import conformer_labels
from analysis.features.geometry import cremer_pople

NAMES6 = ["C1", "C2", "C3", "C4", "C5", "C6"]
NAMES5 = ["C1", "C2", "C3", "C4", "O5"]


def ring(n, q, theta=0.0, phi=0.0, bond=1.52):
    j = np.arange(n)
    radius = bond / (2 * np.sin(np.pi / n))
    a = 2 * np.pi * j / n
    q2 = q * np.sin(np.radians(theta)) if n == 6 else q
    q3 = q * np.cos(np.radians(theta)) if n == 6 else 0.0
    z = np.sqrt(2 / n) * q2 * np.cos(np.radians(phi) + 2 * a) + (np.sqrt(1 / n) * q3 * (-1.0) ** j if n == 6 else 0)
    # clockwise order: the Cremer–Pople normal R' x R'' then points along +z
    return np.column_stack([radius * np.cos(a), -radius * np.sin(a), z])


def cp_and_label(xyz, names):
    cp = cremer_pople(xyz[None], list(range(len(xyz))))
    return {k: (v[0] if np.ndim(v) else v) for k, v in cp.items()}, conformer_labels(cp, names)[0]


@pytest.mark.parametrize("theta,phi,label", [
    (0.0, 0.0, "chair ¹C₄"),
    (180.0, 0.0, "chair ⁴C₁"),
    (90.0, 0.0, "boat ¹˒⁴B"),
    (90.0, 180.0, "boat B₁‚₄"),
    (90.0, 60.0, "boat B₂‚₅"),
    (90.0, 30.0, "skew-boat ⁴S₂"),  # ≡ ¹S₅ (the same twist-boat, named from the other meta pair)
    (54.7, 0.0, "envelope ¹E"),
    (125.3, 180.0, "envelope E₁"),
    (125.3, 0.0, "envelope ⁴E"),
    (50.8, 30.0, "half-chair ¹H₂"),
    (67.5, 30.0, "screw-boat ¹S'₂"),
])
def test_six_ring_textbook_forms(theta, phi, label):
    xyz = ring(6, 0.63, theta, phi)
    cp, got = cp_and_label(xyz, NAMES6)
    assert cp["Q"] == pytest.approx(0.63, abs=1e-9)
    assert cp["theta"] == pytest.approx(theta, abs=1e-6)
    if 0.0 < theta < 180.0:
        assert (cp["phi"] - phi + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-6)
    assert got == label


def test_chair_has_alternating_displacements_and_boat_two_para_atoms_up():
    cp, _ = cp_and_label(ring(6, 0.6, 0.0), NAMES6)
    assert np.all(np.sign(cp["z"]) == [1, -1, 1, -1, 1, -1])
    cp, _ = cp_and_label(ring(6, 0.6, 90.0, 0.0), NAMES6)
    assert set(np.argsort(cp["z"])[-2:]) == {0, 3}


def test_planar_rings():
    assert cp_and_label(ring(6, 0.0), NAMES6)[1] == "planar"
    cp, label = cp_and_label(ring(5, 0.0), NAMES5)
    assert label == "planar" and cp["Q"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("phi,label", [(0.0, "envelope ¹E"), (180.0, "envelope E₁"), (18.0, "twist ¹T₂"),
                                       (36.0, "envelope E₂"), (54.0, "twist ³T₂")])
def test_five_ring_envelope_and_twist(phi, label):
    cp, got = cp_and_label(ring(5, 0.4, phi=phi), NAMES5)
    assert cp["Q"] == pytest.approx(0.4, abs=1e-9)
    assert (cp["phi"] - phi + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-6)
    assert got == label


def test_invariant_under_rotation_and_translation():
    xyz = ring(6, 0.55, 50.8, 30.0)
    moved = Rotation.from_euler("zyx", [31, -47, 112], degrees=True).apply(xyz) + [3.0, -7.0, 1.5]
    a, la = cp_and_label(xyz, NAMES6)
    b, lb = cp_and_label(moved, NAMES6)
    for key in ("Q", "theta", "phi"):
        assert a[key] == pytest.approx(b[key], abs=1e-9)
    assert la == lb


@pytest.mark.parametrize("n,shift_deg", [(6, 120.0), (5, 144.0)])
def test_cyclic_relabelling_shifts_phi_by_720_over_n(n, shift_deg):
    xyz = ring(n, 0.5, 60.0 if n == 6 else 0.0, 40.0)
    a, _ = cp_and_label(xyz, (NAMES6 if n == 6 else NAMES5))
    b, _ = cp_and_label(np.roll(xyz, -1, axis=0), (NAMES6 if n == 6 else NAMES5))  # start one atom later
    assert b["Q"] == pytest.approx(a["Q"], abs=1e-9)
    if n == 6:  # one step flips the sign of the (−1)^j mode: q3 → −q3
        assert b["theta"] == pytest.approx(180.0 - a["theta"], abs=1e-9)
    assert (b["phi"] - a["phi"] - shift_deg + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("theta,phi,label,mirrored", [
    (0.0, 0.0, "chair ¹C₄", "chair ⁴C₁"),
    (54.7, 0.0, "envelope ¹E", "envelope E₁"),
    (50.8, 30.0, "half-chair ¹H₂", "half-chair ²H₁"),
    (90.0, 0.0, "boat ¹˒⁴B", "boat B₁‚₄"),
])
def test_mirror_image_gives_the_mirrored_label(theta, phi, label, mirrored):
    xyz = ring(6, 0.6, theta, phi)
    mirror = xyz * [1, 1, -1]  # reflection through the ring's mean plane
    assert cp_and_label(xyz, NAMES6)[1] == label
    assert cp_and_label(mirror, NAMES6)[1] == mirrored


def test_labels_for_many_frames_at_once():
    frames = np.stack([ring(6, 0.6, 0.0), ring(6, 0.6, 90.0, 0.0), ring(6, 0.0), ring(6, 0.6, 180.0)] * 1000)
    labels = conformer_labels(cremer_pople(frames, list(range(6))), NAMES6)
    assert labels.shape == (4000,)
    assert list(labels[:4]) == ["chair ¹C₄", "boat ¹˒⁴B", "planar", "chair ⁴C₁"]
