"""Surrogate descriptors (known answers)."""

import numpy as np
import pytest



def test_re_descriptor_is_equilibrium_over_current_distance():
    """RE descriptor (Dral et al. 2017): R_eq/R for every atom pair, here checked on a stretched pair."""
    from analysis.surrogate.descriptors import re_descriptor

    ref = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    moved = ref.copy()
    moved[1, 0] = 1.25  # pair (0, 1) from 1.0 to 1.25 Å; pair (0, 2) unchanged
    re = re_descriptor(moved[None], ref)[0]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = [np.linalg.norm(ref[i] - ref[j]) / np.linalg.norm(moved[i] - moved[j]) for i, j in pairs]
    assert sorted(np.round(re, 12)) == sorted(np.round(expected, 12))
    assert 0.8 in np.round(re, 12) and 1.0 in np.round(re, 12)


def _rotation(angle_deg: float, axis) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = np.radians(angle_deg)
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def test_aligned_cartesian_is_the_displacement_after_rotating_back():
    """A geometry displaced from the reference, then rotated and translated: the descriptor is the displacement itself
    (for a displacement that leaves the best rotation unchanged: a symmetric stretch of a planar molecule's bonds),
    and the rotated reference alone gives zero."""
    from analysis.surrogate.descriptors import aligned_cartesian

    ref = np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [-0.6, 1.04, 0.0], [-0.6, -1.04, 0.0]])  # planar, D3h-like
    stretched = ref * 1.1  # every bond 10 % longer: the centroid stays, no rotation is better
    rot = _rotation(37.0, [1.0, 2.0, -0.5])
    moved = np.stack([ref @ rot.T + [3.0, -1.0, 2.0], stretched @ rot.T - [0.5, 4.0, 1.0]])
    d = aligned_cartesian(moved, ref)
    assert d.shape == (2, 12)
    assert np.allclose(d[0], 0.0, atol=1e-10)
    assert np.allclose(d[1].reshape(4, 3), stretched - ref, atol=1e-10)


def test_aligned_cartesian_tells_mirror_images_apart_and_inverse_distances_do_not():
    """Pyramidalizing the central atom up or down: same inverse distances, opposite aligned displacements."""
    from analysis.surrogate.descriptors import aligned_cartesian, inverse_distances

    ref = np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [-0.6, 1.04, 0.0], [-0.6, -1.04, 0.0]])
    up, down = ref.copy(), ref.copy()
    up[0, 2], down[0, 2] = 0.3, -0.3
    assert np.allclose(inverse_distances(up[None]), inverse_distances(down[None]))
    d_up, d_down = aligned_cartesian(np.stack([up, down]), ref)
    assert np.allclose(d_up[2::3], -d_down[2::3], atol=1e-10) and abs(d_up[2]) > 0.2


def test_joined_descriptor_places_each_part_in_its_columns():
    from analysis.surrogate.descriptors import aligned_cartesian, block_columns, descriptor, inverse_distances

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(5, 3))
    coords = ref + 0.1 * rng.normal(size=(7, 5, 3))
    layout = block_columns("inverse_distances+aligned_cartesian", 5)
    assert layout == {"inverse_distances": [0, 10], "aligned_cartesian": [10, 25]}
    x = descriptor("inverse_distances+aligned_cartesian", coords, ref)
    assert x.shape == (7, 25)
    assert np.array_equal(x[:, 0:10], inverse_distances(coords))
    assert np.array_equal(x[:, 10:25], aligned_cartesian(coords, ref))
    with pytest.raises(ValueError, match="unknown descriptor 'zmatrix'"):
        descriptor("inverse_distances+zmatrix", coords, ref)


def test_models_and_domain_read_only_their_columns_of_a_joined_descriptor():
    """A model given ``columns`` predicts exactly what the same model fitted on those columns alone predicts."""
    from analysis.surrogate.domain import TrainingDomain
    from analysis.surrogate.models import KernelRidge, MLPEnsemble, RidgeRegressor
    from analysis.surrogate.selection import cv_folds

    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 9))
    y = np.column_stack([np.sin(x[:, 6]), x[:, 7] ** 2])
    groups = np.repeat(np.arange(6), 20)
    for make in (lambda **kw: KernelRidge(length_scale_factor=1.0, alpha=1e-3, n_members=2, **kw), lambda **kw: RidgeRegressor(**kw),
                 lambda **kw: MLPEnsemble(hidden_layer_sizes=(8,), max_iter=20, n_members=2, **kw)):
        joined = make(columns=[5, 9]).fit(x, y, groups).predict(x[:10], return_std=True)
        alone = make().fit(x[:, 5:9], y, groups).predict(x[:10, 5:9], return_std=True)
        assert np.allclose(joined[0], alone[0]) and np.allclose(joined[1], alone[1])
    folds = cv_folds(groups)
    assert np.allclose(TrainingDomain(columns=[0, 5]).fit(x, folds).distance(x[:10]), TrainingDomain().fit(x[:, :5], folds).distance(x[:10, :5]))


def test_a_candidate_names_its_descriptor_and_gets_its_columns():
    from analysis.surrogate.selection import on_columns

    layout = {"inverse_distances": [0, 78], "aligned_cartesian": [78, 117]}
    assert on_columns({"alpha": 0.1, "descriptor": "aligned_cartesian"}, layout) == {"alpha": 0.1, "columns": [78, 117]}
    assert on_columns({"alpha": 0.1}, layout) == {"alpha": 0.1, "columns": [0, 78]}  # the first part by default
    assert on_columns({"alpha": 0.1}, None) == {"alpha": 0.1}
    with pytest.raises(ValueError, match="names descriptor 're'"):
        on_columns({"descriptor": "re"}, layout)
