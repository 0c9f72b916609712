"""Population kinetics (analysis.kinetics): the bootstrap of a decay in bounded memory."""

import numpy as np
import pytest

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


def test_fit_decay_recovers_an_exact_delayed_exponential_with_a_plateau():
    from analysis.kinetics import decay, fit_decay

    t = np.linspace(0.0, 500.0, 251)
    tau, t0, plateau = fit_decay(t, decay(t, 120.0, 30.0, 0.2), plateau=True)
    assert tau == pytest.approx(120.0, rel=1e-3) and t0 == pytest.approx(30.0, abs=0.5) and plateau == pytest.approx(0.2, abs=1e-3)
    population = decay(t, 60.0, 10.0)
    population[200:] = np.nan  # ended trajectories: ignored
    tau, t0, plateau = fit_decay(t, population, plateau=False)
    assert tau == pytest.approx(60.0, rel=1e-3) and plateau == 0.0


def test_state_indicator_and_initial_state_from_time_resolved_frames():
    import pandas as pd

    from analysis.kinetics import initial_state, state_indicator

    frames = pd.DataFrame({"trajectory_id": ["A", "A", "A", "B", "B", "C", "C", "C"],
                           "time_fs": [0.0, 5.0, 10.0, 0.0, 5.0, 0.0, 5.0, 10.0],
                           "state_label": ["S1", "S1", "S0", "S1", "S0", "S2", "S2", "S1"]})
    assert initial_state(frames) == "S1"
    times, ind = state_indicator(frames, "S1")
    assert times.tolist() == [0.0, 5.0, 10.0]
    assert np.array_equal(ind, np.array([[1, 1, 0], [1, 0, np.nan], [0, 0, 1]]), equal_nan=True)


def test_channel_lifetimes_one_row_per_channel_with_the_planted_lifetime():
    import pandas as pd

    from analysis.kinetics import channel_lifetimes

    rng = np.random.default_rng(3)
    rows = [{"transition": "S1→S0", "channel": c, "event_time_fs": t}
            for c, tau in (("A1", 40.0), ("A2", 150.0)) for t in rng.exponential(tau, size=200)]
    table = channel_lifetimes(pd.DataFrame(rows), n_resamples=30).set_index("channel")
    assert list(table.index) == ["A1", "A2"]
    assert table.loc["A1", "tau_fs"] == pytest.approx(40.0, rel=0.25)
    assert table.loc["A2", "tau_fs"] == pytest.approx(150.0, rel=0.25)


def test_frames_written_with_different_steps_are_put_on_the_coarsest_grid():
    # two runs strided at 2.5 fs (0.25 fs steps), two at 5 fs: at 2.5, 7.5 ... only the first two had counted
    import pandas as pd

    from analysis.kinetics import common_time_grid

    fine = [pd.DataFrame({"trajectory_id": tid, "time_fs": np.arange(0, 30, 2.5), "state_label": "S1"}) for tid in ("A", "B")]
    coarse = [pd.DataFrame({"trajectory_id": tid, "time_fs": np.arange(0, 30, 5.0), "state_label": "S1"}) for tid in ("C", "D")]
    frames = pd.concat(fine + coarse, ignore_index=True)
    gridded = common_time_grid(frames)
    assert sorted(gridded["time_fs"].unique()) == list(np.arange(0, 30, 5.0))
    assert (gridded.groupby("time_fs").size() == 4).all()  # every trajectory once at every grid time
    assert gridded.groupby("trajectory_id").size().to_dict() == {"A": 6, "B": 6, "C": 6, "D": 6}
    same = pd.concat(coarse, ignore_index=True)
    assert common_time_grid(same) is same  # one spacing: unchanged


@pytest.mark.parametrize("plateau", [True, False])
def test_a_decay_with_fewer_time_points_than_parameters_is_not_fitted_and_says_why(plateau):
    # single-frame runs leave one time point: the report job crashed with scipy's TypeError
    indicator = np.ones((12, 1 if plateau else 2))
    indicator[:6] = 0.0  # half of them have left (at a single time: already at the first)
    fit = bootstrap_decay(np.arange(indicator.shape[1], dtype=float), indicator, "S1", plateau, n_resamples=5)
    assert not fit.fitted and fit.note.startswith("not fitted:") and "parameters" in fit.note


def test_a_decay_that_fewer_than_three_trajectories_leave_is_not_fitted():
    """Three real SHARC CH2S runs, one leaving MCH2 at 365 fs, were reported as 'τ < 1 fs (a step at t0) (95 %:
    0–10025), t0 = 365 fs (-0–365)': a lifetime from one departure."""
    from analysis.kinetics import DecayFit

    time_fs = np.arange(0.0, 1000.0, 5.0)
    indicator = np.ones((3, len(time_fs)))
    indicator[2, time_fs >= 365.0] = 0.0
    fit = bootstrap_decay(time_fs, indicator, "MCH2 population (ensemble)", plateau=True, n_resamples=20)
    assert not fit.fitted and fit.note == "not fitted: 1 of 3 trajectories leaves it (needs 3)"
    indicator[1, time_fs >= 200.0] = 0.0
    indicator[0, time_fs >= 500.0] = 0.0
    assert bootstrap_decay(time_fs, indicator, "MCH2", plateau=True, n_resamples=20).fitted  # three leave: fitted
    text = DecayFit("S1", 10, tau_fs=40.0, tau_fs_lo=20.0, tau_fs_hi=60.0, t0_fs=3.0, t0_fs_lo=-0.4, t0_fs_hi=9.0).text()
    assert "(0–9)" in text and "-0" not in text
