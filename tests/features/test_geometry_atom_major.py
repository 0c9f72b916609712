"""The atom-major kernels the feature stage runs (``*_am``), on hand-built geometries with known answers; the
frame-major functions are wrappers and must give the same numbers."""

import numpy as np
import pytest

from analysis.features.geometry import (angles, angles_am, atom_major, dihedral_sin_cos_am, distances, distances_am,
                                        out_of_plane_am, pyramidalization, pyramidalization_am, ring_normal_am)


def test_atom_major_puts_each_atom_coordinate_in_one_row():
    coords = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)  # 2 frames, 3 atoms
    xam = atom_major(coords)
    assert xam.shape == (3, 3, 2) and xam.flags.c_contiguous
    for f in range(2):
        for a in range(3):
            assert xam[a, :, f].tolist() == coords[f, a].tolist()
    assert atom_major(coords[0]).shape == (3, 3, 1)  # one frame without a frame axis


def test_distances_and_angles_of_a_3_4_5_triangle():
    frame = np.array([[0.0, 0, 0], [3, 0, 0], [3, 4, 0]])
    xam = atom_major(frame[None])
    np.testing.assert_allclose(distances_am(xam, np.array([[0, 1], [1, 2], [0, 2]]))[:, 0], [3, 4, 5])
    abc = angles_am(xam, np.array([[0, 1, 2], [1, 0, 2]]))[:, 0]
    np.testing.assert_allclose(abc, [90.0, np.degrees(np.arctan2(4, 3))])
    np.testing.assert_allclose(distances(frame, np.array([[0, 2]])), [5.0])
    np.testing.assert_allclose(angles(frame, np.array([[0, 1, 2]])), [90.0])


def _dihedral_by_praxeolitic_formula(p):
    b0, b1, b2 = p[0] - p[1], p[2] - p[1], p[3] - p[2]
    b1 = b1 / np.linalg.norm(b1)
    v, w = b0 - b0 @ b1 * b1, b2 - b2 @ b1 * b1
    return np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w))


@pytest.mark.parametrize("turn_deg", [-150.0, -90.0, -20.0, 0.0, 45.0, 90.0, 179.0])
def test_dihedral_sin_cos_follow_iupac_sign(turn_deg):
    t = np.radians(turn_deg)
    p = np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 1.5], [np.cos(t), np.sin(t), 1.5]])  # d turned by t about b→c
    sin, cos = dihedral_sin_cos_am(atom_major(p[None]), np.array([[0, 1, 2, 3]]))
    assert np.degrees(np.arctan2(sin[0, 0], cos[0, 0])) == pytest.approx(turn_deg, abs=1e-9)
    assert turn_deg == pytest.approx(_dihedral_by_praxeolitic_formula(p), abs=1e-9)


def test_ring_normal_and_out_of_plane_of_a_bond_tilted_from_a_flat_ring():
    ang = np.arange(6) * np.pi / 3
    ring = np.column_stack([1.4 * np.cos(ang), 1.4 * np.sin(ang), np.zeros(6)])  # counter-clockwise seen from +z
    tilt = np.radians(30.0)
    sub = ring[0] + 1.1 * np.array([np.cos(tilt), 0.0, np.sin(tilt)])  # a bond from atom 0, 30° above the plane
    frames = np.stack([np.vstack([ring, sub]), np.vstack([ring, sub * [1, 1, -1]])])
    xam = atom_major(frames)
    normal = ring_normal_am(xam, range(6))
    assert normal.shape == (3, 2)
    np.testing.assert_allclose(np.abs(normal[2]), 1.0)
    signed = out_of_plane_am(xam, range(6), [0], [6])[0] * np.sign(normal[2])  # in the +z frame of reference
    np.testing.assert_allclose(signed, [30.0, -30.0], atol=1e-9)


def test_pyramidalization_is_zero_when_planar_and_19_47_for_a_tetrahedral_centre():
    neighbours = np.array([[np.cos(a), np.sin(a), 0.0] for a in np.arange(3) * 2 * np.pi / 3])
    h = 1.0 / 3.0  # unit bonds at the tetrahedral angle: the centre sits 1/3 above its neighbours' plane...
    scale = np.sqrt(1 - h**2)  # ... whose circumradius is √(1 − 1/9)
    planar = np.vstack([[0.0, 0, 0], neighbours])
    tetra = np.vstack([[0.0, 0, h], scale * neighbours])
    inverted = tetra * [1, 1, -1]
    xam = atom_major(np.stack([planar, tetra, inverted]))
    got = pyramidalization_am(xam, [0], np.array([[1, 2, 3]]))[0]
    np.testing.assert_allclose(np.abs(got), [0.0, np.degrees(np.arcsin(1 / 3)), np.degrees(np.arcsin(1 / 3))], atol=1e-9)
    assert np.degrees(np.arcsin(1 / 3)) == pytest.approx(19.47, abs=0.01)
    assert got[1] == pytest.approx(-got[2])  # the umbrella flip changes the sign
    np.testing.assert_allclose(pyramidalization(tetra, [0], np.array([[1, 2, 3]])), got[1:2])
