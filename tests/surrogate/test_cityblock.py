"""L1 distances of the Laplacian kernel: the compiled loop gives SciPy's numbers, to the last bit."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from analysis.surrogate import cityblock
from analysis.surrogate.cityblock import cityblock_distances


@pytest.fixture
def compiled(monkeypatch):
    """Every product through the compiled loop, however small."""
    monkeypatch.setattr(cityblock, "COMPILED_MIN_WORK", 0)
    if cityblock._compiled_loop() is None:
        pytest.skip("numba is not installed: only SciPy's cdist is used")


def test_hand_computed_distances(compiled):
    a = np.array([[0.0, 0.0], [1.0, -2.0], [0.5, 0.25]])
    b = np.array([[1.0, 1.0], [-1.0, 0.0]])
    expected = np.array([[2.0, 1.0], [3.0, 4.0], [1.25, 1.75]])  # |dx| + |dy|, by hand
    assert np.array_equal(cityblock_distances(a, b), expected)
    sym = cityblock_distances(a, a)
    assert np.array_equal(sym, [[0.0, 3.0, 0.75], [3.0, 0.0, 2.75], [0.75, 2.75, 0.0]])


@pytest.mark.parametrize("shape_a, shape_b", [((37, 91), (53, 91)), ((64, 276), (1, 276)), ((5, 1), (7, 1))])
def test_equal_to_scipy_bit_for_bit(compiled, shape_a, shape_b):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=shape_a) * 3.0, rng.normal(size=shape_b)
    assert np.array_equal(cityblock_distances(a, b), cdist(a, b, "cityblock"))
    same = cityblock_distances(a, a)  # the symmetric path sums the upper triangle and mirrors it
    assert np.array_equal(same, cdist(a, a, "cityblock"))
    assert np.array_equal(same, same.T)


def test_non_contiguous_and_integer_input(compiled):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(40, 30))[:, ::2]  # a strided view
    ints = rng.integers(-5, 5, size=(9, 15))
    assert np.array_equal(cityblock_distances(a, a), cdist(a, a, "cityblock"))
    assert np.array_equal(cityblock_distances(ints, a), cdist(ints.astype(float), a, "cityblock"))


def test_small_products_use_scipy(monkeypatch):
    monkeypatch.setattr(cityblock, "_compiled_loop", lambda: pytest.fail("the compiled loop was used for a small product"))
    a = np.random.default_rng(5).normal(size=(20, 6))
    assert np.array_equal(cityblock_distances(a, a), cdist(a, a, "cityblock"))


@pytest.mark.parametrize("block", [1, 16, 512])
def test_column_blocks_and_mirror_tiles_cover_every_pair(compiled, monkeypatch, block):
    monkeypatch.setattr(cityblock, "COLUMN_BLOCK", block)
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(150, 20)), rng.normal(size=(71, 20))  # several 64-row mirror tiles, blocks with a remainder
    assert np.array_equal(cityblock_distances(a, a), cdist(a, a, "cityblock"))
    assert np.array_equal(cityblock_distances(b, a), cdist(b, a, "cityblock"))
