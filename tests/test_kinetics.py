"""Population kinetics (analysis.kinetics): the bootstrap of a decay in bounded memory."""

import numpy as np

from analysis.kinetics import _resampled_means, bootstrap_decay


def test_resampled_means_in_chunks_equal_the_whole_array_at_once():
    rng = np.random.default_rng(2)
    indicator = (rng.random((40, 30)) < 0.6).astype(float)
    indicator[5, 20:] = np.nan  # a trajectory that ended early
    rows = rng.integers(0, 40, size=(17, 40))
    whole = np.nanmean(indicator[rows], axis=1)
    chunked = np.array(list(_resampled_means(indicator, rows, max_elements=3 * indicator.size)))
    assert chunked.shape == whole.shape and np.array_equal(chunked, whole)


def test_bootstrap_decay_recovers_a_planted_lifetime_with_an_interval_around_it():
    rng = np.random.default_rng(0)
    time_fs = np.arange(0.0, 400.0, 2.0)
    hop_fs = 20.0 + rng.exponential(80.0, size=300)  # S1 lifetime 80 fs after a 20 fs delay
    fit = bootstrap_decay(time_fs, (time_fs[None, :] < hop_fs[:, None]).astype(float), "S1", plateau=False,
                          n_resamples=50)
    assert abs(fit.tau_fs - 80.0) < 12.0 and abs(fit.t0_fs - 20.0) < 6.0
    assert fit.tau_fs_lo < fit.tau_fs < fit.tau_fs_hi and fit.n_resamples >= 45
