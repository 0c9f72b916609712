"""An event's geometry averaged over a window centred on it (analysis.features.stage.window_mean_coords)."""

import numpy as np
import pytest

from analysis.features.stage import window_mean_coords


def _rotation_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _trajectory(period_fs=10.0, dt_fs=0.5, n=201, rotate=True):
    """A triatomic whose bond 0-1 drifts by 0.002 Å/fs and vibrates ±0.1 Å with ``period_fs``, while the whole
    molecule turns by 1°/fs (known answer: the window mean of the bond is the drift at the window's centre)."""
    time_fs = np.arange(n) * dt_fs
    bond = 1.0 + 0.002 * time_fs + 0.1 * np.sin(2 * np.pi * time_fs / period_fs)
    coords = np.zeros((n, 3, 3))
    coords[:, 1, 0] = bond
    coords[:, 2] = [-0.5, 1.2, 0.3]
    if rotate:
        coords = np.einsum("tij,tkj->tki", np.array([_rotation_z(np.radians(t)) for t in time_fs]), coords)
    return time_fs, coords


def test_a_vibration_of_the_window_length_averages_out_and_the_drift_stays():
    time_fs, coords = _trajectory()
    frames = [43, 103, 165]  # where the vibration is at 0.08-0.1 Å
    mean = window_mean_coords(lambda lo, hi: coords[lo:hi], time_fs, frames, 5.0)
    bond = np.linalg.norm(mean[:, 1] - mean[:, 0], axis=1)
    # 21 frames span 10.5 fs: one sample more than the period leaves at most 0.1 Å / 21
    np.testing.assert_allclose(bond, 1.0 + 0.002 * time_fs[frames], atol=0.1 / 21 + 2e-4)
    raw = np.linalg.norm(coords[frames, 1] - coords[frames, 0], axis=1)
    assert np.abs(raw - (1.0 + 0.002 * time_fs[frames])).max() > 0.05  # the frame alone carries the vibration
    # the rigid part is untouched by the rotation of the molecule during the window
    np.testing.assert_allclose(np.linalg.norm(mean[:, 2] - mean[:, 0], axis=1), np.linalg.norm([-0.5, 1.2, 0.3]), atol=1e-3)


def test_no_window_is_the_event_frame_and_a_window_is_cut_at_the_trajectory_end():
    time_fs, coords = _trajectory(rotate=False)
    np.testing.assert_array_equal(window_mean_coords(lambda lo, hi: coords[lo:hi], time_fs, [7, 200], 0.0), coords[[7, 200]])
    last = window_mean_coords(lambda lo, hi: coords[lo:hi], time_fs, [200], 5.0)[0]
    expected = coords[190:201].mean(axis=0)  # only the frames before the end exist
    assert np.linalg.norm(last[1] - last[0]) == pytest.approx(np.linalg.norm(expected[1] - expected[0]), abs=1e-4)
    centred = coords[180:201].mean(axis=0)  # a window that was not cut would be centred on the event
    assert abs(np.linalg.norm(last[1] - last[0]) - np.linalg.norm(centred[1] - centred[0])) > 5e-3
    assert window_mean_coords(lambda lo, hi: coords[lo:hi], time_fs, [], 5.0).shape == (0, 3, 3)
