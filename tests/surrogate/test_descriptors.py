"""Surrogate descriptors (known answers)."""

import numpy as np



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
