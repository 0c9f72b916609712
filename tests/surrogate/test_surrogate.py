"""The surrogate: models checked against independent implementations, held-out-trajectory validation on the
demo (analytic energies), calibration, safe model files, the predict entry point, next calculations."""

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.surrogate import selection
from analysis.surrogate.calibration import TWO_SIGMA_SHARE, calibrated_sigma, calibration_factors, coverage
from analysis.surrogate.frames import SurrogateSkipped, collect_frames
from analysis.surrogate.modelfile import ModelMismatchError, load_model, save_model
from analysis.surrogate.models import KernelRidge, MLPEnsemble, median_distance
from analysis.surrogate.targets import energies_of_ladder, from_ladder, to_ladder, with_gap
from tests.conftest import ROOT

FAST = {"n_members": 5, "cv_max_frames": 1500, "learning_curve": False,
        "mlp_grid": [{"hidden_layer_sizes": [64, 64], "alpha": 1e-4}],
        "krr_grid": {"kernel": ["gaussian"], "length_scale_factor": [1.0, 2.0, 4.0], "alpha": [1e-5, 1e-3]}}


@pytest.fixture(scope="module")
def demo_fit(small_demo, tmp_path_factory):
    """The surrogate trained on the 24-trajectory demo (2 broken, excluded by QC)."""
    from analysis.ingest import ingest_batch
    from analysis.io.store import usable_frames
    from analysis.qc import run_qc
    from analysis.surrogate.train import fit_surrogate

    out, truth = small_demo
    tmp = tmp_path_factory.mktemp("surrogate")
    ingest_batch(out / "ensemble", tmp / "s.npz", tmp / "t.csv")
    run_qc([tmp / "s.npz"], [tmp / "t.csv"], tmp / "qc.csv", tmp / "traj.parquet", policy="exclude")
    frames = collect_frames([tmp / "s.npz"], usable_frames(tmp / "traj.parquet"), frame_stride=2)
    return fit_surrogate(frames, FAST, random_state=0), frames, truth, tmp


def test_demo_held_out_trajectories_gap_and_calibration(demo_fit):
    fit, frames, truth, _ = demo_fit
    m = fit.metrics
    held, used = set(fit.heldout.trajectory_id), set(frames.trajectory_id)
    assert held and held < used  # whole trajectories held out
    assert not held & set(truth.loc[truth.broken != "", "trajectory_id"])  # broken ones never reach the surrogate
    chosen, mean = m["models"][m["chosen"]], m["models"]["mean"]
    # analytic, rotation-invariant demo energies: S0 (springs + channel rise) to 50 meV on unseen trajectories;
    # the S1–S0 gap (a max over 12 piecewise-linear channel coordinates, with kinks) better than a linear model
    # and than a third of the constant's error (issue 11 asks for < 0.05 eV: not reached yet, ~0.2 eV here)
    assert chosen["S0"]["mae_ev"] < 0.05
    assert chosen["gap_S1_S0"]["mae_ev"] < min(m["models"]["ridge"]["gap_S1_S0"]["mae_ev"], mean["gap_S1_S0"]["mae_ev"] / 3)
    assert chosen["mean_mae_ev"] < 0.3 * mean["mean_mae_ev"]
    assert chosen["mean_mae_ev"] <= m["models"]["ridge"]["mean_mae_ev"]
    assert 0.85 <= m["uncertainty"]["coverage_2sigma"] <= 0.99
    assert m["choice"].startswith("The predictor is the")


def test_model_file_round_trip_is_exact_and_refuses_other_atoms(demo_fit, tmp_path):
    fit, frames, _, _ = demo_fit
    save_model(fit.model, tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["symbols"] == frames.symbols and meta["state_names"] == ["S0", "S1", "S2"] and "versions" in meta
    loaded = load_model(tmp_path / "model")
    coords = frames.coords_angstrom[:50]
    for a, b in zip(fit.model.predict(coords), loaded.predict(coords)):
        assert np.array_equal(a, b)
    swapped = list(frames.symbols)
    i, j = swapped.index("N"), swapped.index("C")
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(ModelMismatchError, match="same elements in the same order"):
        loaded.predict(coords, symbols=swapped)
    with pytest.raises(ModelMismatchError, match="expects"):
        loaded.predict(coords[:, :-1])


class _Marker:
    """Unpickling this creates a file: the proof that a loader ran code from the file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_loading_a_model_never_unpickles(demo_fit, tmp_path):
    fit, _, _, _ = demo_fit
    save_model(fit.model, tmp_path / "model")
    marker = tmp_path / "code_ran"
    with np.load(tmp_path / "model" / "model.npz") as npz:
        arrays = dict(npz)
    arrays["calibration"] = np.array([_Marker(str(marker))], dtype=object)  # an object array is stored as a pickle
    with open(tmp_path / "model" / "model.npz", "wb") as fh:
        np.savez(fh, **arrays)
    assert pickle.dumps(_Marker(str(marker)))  # the payload is a real pickle
    with pytest.raises(ValueError, match="pickle"):
        load_model(tmp_path / "model")
    assert not marker.exists()


def test_predict_entry_point_reads_xyz_and_writes_energies_and_sigma(demo_fit, tmp_path):
    from analysis.surrogate.active import write_xyz
    from analysis.surrogate.predict import main

    fit, frames, _, _ = demo_fit
    save_model(fit.model, tmp_path / "model")
    xyz = tmp_path / "g.xyz"
    for k in range(3):
        write_xyz(tmp_path / f"f{k}.xyz", frames.symbols, frames.coords_angstrom[k * 7], f"frame {k}")
    xyz.write_text("".join((tmp_path / f"f{k}.xyz").read_text() for k in range(3)))
    assert main([str(tmp_path / "model"), str(xyz), "-o", str(tmp_path / "out.csv")]) == 0
    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns[:5]) == ["frame", "S0_ev", "S1_ev", "S2_ev", "gap_S1_S0_ev"]
    energies, sigma = fit.model.predict(frames.coords_angstrom[[0, 7, 14]])
    assert np.allclose(table[["S0_ev", "S1_ev", "S2_ev"]], energies, atol=1e-5)
    assert np.allclose(table[["S0_sigma_ev", "S1_sigma_ev", "S2_sigma_ev"]], sigma, atol=1e-5)
    assert np.allclose(table["gap_S1_S0_ev"], table["S1_ev"] - table["S0_ev"], atol=1e-5)
    from analysis.surrogate.predict import predict_xyz

    direct = predict_xyz(tmp_path / "model", xyz)  # the library call the CLI and the rule wrap
    pd.testing.assert_frame_equal(direct.reset_index(drop=True), table, check_exact=False, atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one iteration only builds the network
def test_mlp_forward_pass_equals_scikit_learn_with_the_same_weights():
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=(200, 2))
    ours = MLPEnsemble(hidden_layer_sizes=(8, 5), n_members=2, max_iter=3, random_state=1).fit(x, y)
    sk = MLPRegressor(hidden_layer_sizes=(8, 5), activation="tanh", max_iter=1).fit(x, y)
    member = 1
    sk.coefs_ = [w[member].astype(float) for w in ours.weights_]
    sk.intercepts_ = [b[member, 0].astype(float) for b in ours.biases_]
    xs = (x - ours.x_mean_) / ours.x_scale_
    from analysis.surrogate.mlp import forward

    assert np.allclose(forward(xs, ours.weights_, ours.biases_, "tanh")[0][member], sk.predict(xs), atol=1e-4)


def test_mlp_ensemble_learns_a_smooth_function_and_its_spread_grows_off_data():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(2000, 2))
    y = np.column_stack([np.sin(2 * x[:, 0]) + x[:, 1] ** 2, x[:, 0] * x[:, 1]])
    model = MLPEnsemble(hidden_layer_sizes=(32, 32), n_members=5, random_state=0).fit(x, y, np.arange(2000) // 100)
    x_new = rng.uniform(-1, 1, size=(300, 2))
    truth = np.column_stack([np.sin(2 * x_new[:, 0]) + x_new[:, 1] ** 2, x_new[:, 0] * x_new[:, 1]])
    mean, std = model.predict(x_new, return_std=True)
    assert np.abs(mean - truth).mean() < 0.05
    far = model.predict(np.full((1, 2), 4.0), return_std=True)[1]
    assert far.mean() > 3 * std.mean()  # members disagree where no data was
    # rebuilt from its arrays (what a model file holds) it predicts exactly what the fitted model does
    rebuilt = MLPEnsemble.from_arrays(model.get_params(), model.arrays_())
    for a, b in zip(model.predict(x_new, return_std=True), rebuilt.predict(x_new, return_std=True)):
        assert np.array_equal(a, b)


def test_kernel_ridge_equals_scikit_learn_kernel_ridge():
    from sklearn.kernel_ridge import KernelRidge as SkKRR

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(150, 4)), rng.normal(size=(150, 2))
    ours = KernelRidge(kernel="gaussian", length_scale_factor=1.5, alpha=1e-3, n_members=0).fit(x, y)
    xs, ys = (x - ours.x_mean_) / ours.x_scale_, (y - ours.y_mean_) / ours.y_scale_
    sk = SkKRR(kernel="rbf", gamma=1.0 / (2 * ours.length_scale_**2), alpha=1e-3).fit(xs, ys)
    x_new = rng.normal(size=(20, 4))
    expected = sk.predict((x_new - ours.x_mean_) / ours.x_scale_) * ours.y_scale_ + ours.y_mean_
    assert np.allclose(ours.predict(x_new), expected, atol=1e-8)


def test_kernel_ridge_members_are_fits_on_their_trajectory_subsets():
    from sklearn.kernel_ridge import KernelRidge as SkKRR

    rng = np.random.default_rng(5)
    x, y, groups = rng.normal(size=(120, 3)), rng.normal(size=(120, 2)), np.repeat(np.arange(6), 20)
    ours = KernelRidge(kernel="laplacian", length_scale_factor=2.0, alpha=1e-2, n_members=3, random_state=1).fit(x, y, groups)
    xs, ys = (x - ours.x_mean_) / ours.x_scale_, (y - ours.y_mean_) / ours.y_scale_
    for idx, coef in zip(ours.member_index_, ours.member_coef_):
        assert len(np.unique(groups[idx])) == 5  # 80 % of the six trajectories, whole
        sk = SkKRR(kernel="laplacian", gamma=1.0 / ours.length_scale_, alpha=1e-2).fit(xs[idx], ys[idx])
        assert np.allclose(coef, sk.dual_coef_, atol=1e-8)


def test_krr_tuning_scores_each_candidate_like_scikit_learn_and_in_energy_space():
    """The CV MAE of every grid point equals scikit-learn's KernelRidge fitted fold by fold (an independent
    computation), taken on the energies when the targets are the ladder."""
    from sklearn.kernel_ridge import KernelRidge as SkKRR

    rng = np.random.default_rng(7)
    x = rng.normal(size=(90, 3))
    energies = np.column_stack([np.sin(x[:, 0]), 2.0 + np.cos(x[:, 1]) + 0.3 * x[:, 2]])
    ladder, groups = to_ladder(energies), np.repeat(np.arange(6), 15)
    folds = selection.cv_folds(groups, 3)
    grid = {"kernel": ["gaussian"], "length_scale_factor": [0.5, 2.0], "alpha": [1e-4, 1e-1]}
    expected = {}
    for factor in grid["length_scale_factor"]:
        for alpha in grid["alpha"]:
            errors = []
            for fit_idx, val_idx in folds:
                xf, yf = x[fit_idx], ladder[fit_idx]
                xm, xsd, ym, ysd = xf.mean(0), xf.std(0), yf.mean(0), yf.std(0)
                xs = (xf - xm) / xsd
                ell = factor * median_distance(xs, "gaussian")
                sk = SkKRR(kernel="rbf", gamma=1 / (2 * ell**2), alpha=alpha).fit(xs, (yf - ym) / ysd)
                pred = sk.predict((x[val_idx] - xm) / xsd) * ysd + ym
                errors.append(np.abs(np.cumsum(pred, 1) - energies[val_idx]).mean())
            expected[(factor, alpha)] = np.mean(errors)
    params, score = selection.tune_krr(x, ladder, groups, folds, grid, score_space=lambda t: np.cumsum(t, 1))
    best = min(expected, key=expected.get)
    assert (params["length_scale_factor"], params["alpha"]) == best and np.isclose(score, expected[best], rtol=1e-6)


def test_config_krr_grid_is_the_library_default():
    import yaml

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert config["surrogate"]["krr_grid"] == selection.KRR_GRID


def test_calibration_factor_recovers_a_known_error_scale():
    rng = np.random.default_rng(3)
    raw_sigma = rng.uniform(0.1, 1.0, size=(20000, 2))
    errors = rng.normal(size=raw_sigma.shape) * raw_sigma * np.array([2.0, 0.5])  # true σ = 2× and 0.5× the raw spread
    errors[:, 1] += rng.normal(scale=0.3, size=len(errors))  # plus an independent 0.3 eV error on the second
    scale, floor = calibration_factors(np.zeros_like(errors), errors, raw_sigma)
    assert np.allclose(scale, [2.0, 0.5], rtol=0.1) and floor[0] < 0.05 and abs(floor[1] - 0.3) < 0.03
    fresh = rng.normal(size=raw_sigma.shape) * raw_sigma * np.array([2.0, 0.5])
    fresh[:, 1] += rng.normal(scale=0.3, size=len(fresh))
    assert abs(coverage(0.0, fresh, calibrated_sigma(raw_sigma, [scale, floor]), 2.0) - TWO_SIGMA_SHARE) < 0.01


def test_inverse_distances_are_those_of_scipy_pdist_for_every_frame_and_dtype():
    """1/r_ij in scipy's pair order (i < j, row by row), per frame, for float64 and float32 coordinates and a lone
    geometry (an independent computation: scipy.spatial.distance.pdist)."""
    from scipy.spatial.distance import pdist

    from analysis.surrogate.descriptors import inverse_distances

    coords = np.random.default_rng(4).normal(scale=1.5, size=(2, 7, 5, 3))  # (batch, frames, atoms, xyz)
    expected = np.array([[1.0 / pdist(frame) for frame in frames] for frames in coords])
    np.testing.assert_allclose(inverse_distances(coords), expected, rtol=1e-13)
    single = inverse_distances(coords[0, 0].astype(np.float32))
    assert single.dtype == np.float32 and single.shape == (10,)
    np.testing.assert_allclose(single, expected[0, 0], rtol=1e-5)
    np.testing.assert_allclose(inverse_distances(np.round(coords[0, 0] * 10).astype(int)), 1.0 / pdist(np.round(coords[0, 0] * 10)))


def test_ladder_targets_round_trip_and_gap_spread():
    e = np.array([[1.0, 3.5, 4.0], [0.5, 2.0, 6.0]])
    assert np.allclose(energies_of_ladder(to_ladder(e)), e)
    mean, std = from_ladder(to_ladder(e), np.full((2, 3), 0.1))
    assert np.allclose(mean, with_gap(e)) and np.allclose(mean[:, 3], e[:, 1] - e[:, 0])
    assert np.allclose(std[0], [0.1, 0.1 * np.sqrt(2), 0.1 * np.sqrt(3), 0.1])


def test_held_out_split_is_by_trajectory_and_by_time_for_a_single_one():
    groups = np.repeat(["a", "b", "c", "d", "e"], [300, 20, 40, 250, 90])
    train, test, words = selection.heldout_split(groups, 0.2, 0)
    assert not set(groups[train]) & set(groups[test]) and "held-out trajectories" in words
    assert abs(len(test) / len(groups) - 0.2) < 0.1
    train, test, words = selection.heldout_split(np.repeat(["a"], 100), 0.2, 0)
    assert list(test) == list(range(80, 100)) and "time block" in words
    folds = selection.cv_folds(np.repeat(["a"], 30), 3)
    assert [list(v) for _, v in folds] == [list(range(0, 10)), list(range(10, 20)), list(range(20, 30))]
    # the report says what the folds were: by trajectory, or time blocks of the only one (not "by trajectory")
    assert selection.cv_words(np.repeat(["a"], 30)) == "by contiguous time blocks of the only training trajectory"
    assert selection.cv_words(groups) == "by trajectory"


def test_held_out_split_takes_the_given_trajectories_and_refuses_unknown_or_all():
    groups = np.repeat(["a", "b", "c"], [5, 3, 4])
    train, test, words = selection.heldout_split(groups, 0.2, 0, ["b"])
    assert list(test) == [5, 6, 7] and list(train) == [0, 1, 2, 3, 4, 8, 9, 10, 11] and "1 of 3, given" in words
    with pytest.raises(ValueError, match=r"\['z'\] have no frames"):
        selection.heldout_split(groups, 0.2, 0, ["a", "z"])
    with pytest.raises(ValueError, match="nothing is left to train on"):
        selection.heldout_split(groups, 0.2, 0, ["a", "b", "c"])


def test_next_calculations_take_channels_in_turn_and_keep_frames_apart():
    from analysis.surrogate.active import SAME_GEOMETRY_RMSD_ANGSTROM, pick_next
    from analysis.symmetry import kabsch_rmsd

    sigma = np.array([0.9, 0.85, 0.8, 0.1, 0.2, 0.7, 0.05])
    traj = np.array(["t1", "t1", "t2", "t3", "t3", "t1", "t4"])
    time_fs = np.array([10.0, 12.0, 5.0, 0.0, 50.0, 60.0, 0.0])
    channel = np.array(["A1", "A1", "A1", "A2", "A2", "A1", "none"])
    picked = pick_next(sigma, traj, time_fs, channel, n=4, min_separation_fs=20.0)
    assert list(picked) == [0, 4, 6, 2]  # A1's best, then A2's best, then 'none', then A1's next not 2 fs from frame 0
    # runs from one initial condition: frame 2 (t2) is frame 0's geometry rotated and shifted, 1e-4 Å off: one
    # calculation, so A1's next pick is frame 5; a geometry ~0.1 Å away (RMSD) is another calculation
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(7, 6, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    coords[2] = coords[0] @ (q * np.sign(np.linalg.det(q))).T + 3.0 + rng.normal(scale=1e-4, size=(6, 3))
    picked = pick_next(sigma, traj, time_fs, channel, n=4, min_separation_fs=20.0, coords_angstrom=coords)
    assert list(picked) == [0, 4, 6, 5]
    coords[2] = coords[0] + rng.normal(scale=0.1, size=(6, 3))
    assert kabsch_rmsd(coords[2], coords[0])[1] > SAME_GEOMETRY_RMSD_ANGSTROM
    assert list(pick_next(sigma, traj, time_fs, channel, n=4, min_separation_fs=20.0, coords_angstrom=coords)) == [0, 4, 6, 2]


def test_frames_the_committee_reproduces_exactly_are_never_next_calculations():
    from analysis.surrogate.active import AGREED_DISAGREEMENT, pick_next

    # channel A2's frames were in every member's training set (an interpolating kernel: spread ~1e-8 of the typical):
    # its turn in the round-robin goes to nobody, and A1's frames fill the slots
    sigma = np.array([3.0, 2.0, 1.5, 4e-8, 1e-7])
    traj = np.array(["t1", "t1", "t1", "t2", "t2"])
    time_fs = np.array([0.0, 30.0, 60.0, 0.0, 40.0])
    channel = np.array(["A1", "A1", "A1", "A2", "A2"])
    assert list(pick_next(sigma, traj, time_fs, channel, n=4)) == [0, 1, 2]
    sigma[4] = AGREED_DISAGREEMENT  # at the threshold: a frame with something to teach
    assert list(pick_next(sigma, traj, time_fs, channel, n=4)) == [0, 4, 1, 2]


def test_disagreement_is_each_states_spread_over_its_median():
    from analysis.surrogate.active import relative_disagreement

    # S1 has the larger spread everywhere, but frame 1 is where S0's committee disagrees five times its usual
    spread = np.array([[0.01, 1.00], [0.05, 1.00], [0.01, 1.02], [0.01, 0.98]])
    score = relative_disagreement(spread)
    assert score == pytest.approx([1.0, 5.0, 1.02, 1.0]) and int(np.argmax(score)) == 1
    # a state on which the committee agrees almost everywhere: where it does disagree ranks first
    assert int(np.argmax(relative_disagreement(np.array([[0.0, 1.0], [0.0, 3.0], [0.2, 1.0], [0.0, 1.0], [0.0, 1.0]])))) == 2
    assert relative_disagreement(np.zeros((0, 2))).shape == (0,)


def test_next_calculations_rank_by_spread_when_a_states_sigma_is_a_constant_floor(demo_fit):
    """A calibration that found a state's spread uninformative (scale 0) gives it a constant σ, the same for every
    frame; the largest σ then ranked nothing (ties in frame order, a real cyclohexadiene run). The picks follow the
    committee's own disagreement."""
    from analysis.surrogate.active import next_calculations, relative_disagreement

    fit, frames, _, _ = demo_fit
    calibration = np.array(fit.model.calibration, dtype=float)
    calibration[0, 1:] = 0.0            # every state but the first: σ = its floor ...
    calibration[1, 1:] = 10.0           # ... far above the first state's σ
    model = dataclasses.replace(fit.model, calibration=calibration)
    sub = frames.take(np.arange(0, len(frames), 7))
    table = next_calculations(model, sub, {}, n=5, min_separation_fs=0.0)
    spread = model.raw(sub.coords_angstrom)[1][:, : len(model.state_names)]
    from analysis.surrogate.active import SAME_GEOMETRY_RMSD_ANGSTROM
    from analysis.symmetry import kabsch_rmsd

    expected = []  # by the committee's disagreement, a geometry already picked (frames ~1 fs apart) skipped
    for k in np.argsort(-relative_disagreement(spread), kind="stable"):
        if len(expected) < 5 and all(kabsch_rmsd(sub.coords_angstrom[k], sub.coords_angstrom[j])[1] >= SAME_GEOMETRY_RMSD_ANGSTROM
                                     for j in expected):
            expected.append(k)
    assert list(table["time_fs"]) == list(sub.time_fs[expected])
    assert list(table["trajectory_id"]) == list(np.asarray(sub.trajectory_id)[expected])
    assert np.allclose(table["max_state_sigma_ev"], 10.0, rtol=1e-3)  # σ alone could not have chosen


def _store_without_energies(path):
    """A one-trajectory store whose state energies are all NaN (an XYZ run without its CSV)."""
    from analysis.io.store import write_store
    from analysis.io.trajectory import Trajectory

    t = Trajectory(trajectory_id="T1", source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=[], extra={},
                   time_fs=np.arange(3.0), coords_angstrom=np.zeros((3, 2, 3)), active_state=np.ones(3, int),
                   energies_ev=np.full((3, 2), np.nan), total_energy_ev=np.full(3, np.nan), potential_energy_ev=np.full(3, np.nan),
                   masses_amu=np.ones(2), populations=None, multiplicities=None)
    write_store([t], path)


def test_surrogate_is_skipped_with_a_reason_without_energies(tmp_path):
    _store_without_energies(tmp_path / "s.npz")
    with pytest.raises(SurrogateSkipped, match=r"none of the 1 analysed trajectories has per-state energies .*SHARC writes them "
                                                 r"to output.dat only"):
        collect_frames([tmp_path / "s.npz"], {"T1"})
    with pytest.raises(SurrogateSkipped, match="^no ok trajectory to train on$"):
        collect_frames([tmp_path / "s.npz"], {})


def test_collect_frames_subsample_is_the_seeded_uniform_choice_over_all_kept_frames(tmp_path):
    """The capped collection (read in two passes, coordinates only for the chosen frames) equals choosing
    ``max_frames`` of all kept frames with the same seed; a truncated trajectory contributes its first frames."""
    from analysis.io.store import write_store
    from analysis.io.trajectory import Trajectory

    rng = np.random.default_rng(0)

    def traj(tid, n):
        e = np.sort(rng.normal(size=(n, 2)), axis=1)
        e[4] = np.nan  # a frame without energies is never kept
        return Trajectory(trajectory_id=tid, source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=[], extra={},
                          time_fs=np.arange(n) * 0.5, coords_angstrom=rng.normal(size=(n, 2, 3)), active_state=np.r_[np.full(n // 2, 2), np.ones(n - n // 2, int)],
                          energies_ev=e, total_energy_ev=np.zeros(n), potential_energy_ev=np.zeros(n), masses_amu=np.ones(2),
                          populations=None, multiplicities=None)
    write_store([traj("T1", 40), traj("T2", 30)], tmp_path / "a.npz")
    write_store([traj("T3", 50)], tmp_path / "b.npz")
    ok = {"T1": 40, "T2": 20, "T3": 50}
    everything = collect_frames([tmp_path / "b.npz", tmp_path / "a.npz"], ok, frame_stride=2, max_frames=10**6)
    assert len(everything) == 19 + 9 + 24 and set(np.unique(everything.trajectory_id)) == {"T1", "T2", "T3"}
    capped = collect_frames([tmp_path / "b.npz", tmp_path / "a.npz"], ok, frame_stride=2, max_frames=17, seed=3)
    expected = everything.take(np.sort(np.random.default_rng(3).choice(len(everything), 17, replace=False)))
    for name in ("coords_angstrom", "energies_ev", "trajectory_id", "time_fs", "time_to_hop_fs"):
        assert np.array_equal(getattr(capped, name), getattr(expected, name), equal_nan=name != "trajectory_id"), name


def test_per_target_weights_give_each_target_its_best_model_or_the_average():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 3))
    krr = y + np.array([0.0, 0.5, 1.0])           # exact on target 0
    mlp = y + np.array([0.5, 0.0, -1.0])          # exact on target 1; on target 2 the two err in opposite directions
    oof = {"krr": (krr, np.ones_like(y)), "mlp": (mlp, np.ones_like(y))}
    w = selection.per_target_weights(oof, y)
    assert w.tolist() == [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]
    mean, spread = selection.blend([krr, mlp], [np.ones_like(y), np.ones_like(y)], w)
    assert np.allclose(mean, y)
    # per target, the spread is the chosen model's own (σ = 1), or the mixture's √(1 + 1²) where the two disagree by 2
    assert np.allclose(spread[:, :2], 1.0) and np.allclose(spread[:, 2], np.sqrt(2.0))


def test_model_file_with_per_target_weights_round_trips(demo_fit, tmp_path):
    from analysis.surrogate.descriptors import DESCRIPTORS
    from analysis.surrogate.modelfile import SurrogateModel

    _, frames, _, _ = demo_fit
    coords, ref = frames.coords_angstrom[:300], frames.coords_angstrom[0]
    x, y = DESCRIPTORS["inverse_distances"](coords, ref), to_ladder(frames.energies_ev[:300])
    krr = KernelRidge(n_members=2).fit(x, y)
    mlp = MLPEnsemble(hidden_layer_sizes=(8,), max_iter=5, n_members=2).fit(x, y)
    weights = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]
    model = SurrogateModel([("krr", krr), ("mlp", mlp)], weights, np.vstack([np.ones(4), np.zeros(4)]), "inverse_distances",
                           ref, frames.symbols, frames.state_names)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    for a, b in zip(model.predict(coords[:20]), loaded.predict(coords[:20])):
        assert np.array_equal(a, b)
    # S0 (target 0) is the KRR's alone, the S1–S0 gap (target 1) the MLP's alone
    energies, _ = loaded.predict(coords[:20])
    assert np.allclose(energies[:, 0], krr.predict(x[:20])[:, 0])
    assert np.allclose(energies[:, 1] - energies[:, 0], mlp.predict(x[:20])[:, 1])


def test_per_target_choice_is_cross_validated_and_not_rewarded_for_fitting_noise():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(300, 2))
    folds = selection.cv_folds(np.repeat(["a", "b", "c"], 100))
    # target 0: KRR is better in every fold; target 1: which model looks better flips from fold to fold (noise)
    krr, mlp = y + 0.1 * rng.normal(size=y.shape), y + 0.5 * rng.normal(size=y.shape)
    for k, (_, val) in enumerate(folds):
        (krr if k % 2 else mlp)[val, 1] += 2.0
    oof = {"krr": (krr, np.ones_like(y)), "mlp": (mlp, np.ones_like(y))}
    mean, _ = selection.per_target_out_of_fold(oof, y, folds)
    in_sample = selection.blend([krr, mlp], [np.ones_like(y)] * 2, selection.per_target_weights(oof, y))[0]
    assert np.abs(mean[:, 0] - y[:, 0]).mean() == pytest.approx(np.abs(krr[:, 0] - y[:, 0]).mean())
    # choosing target 1's model on the frames it is scored on looks better than choosing it on the other folds
    assert np.abs(mean[:, 1] - y[:, 1]).mean() > np.abs(in_sample[:, 1] - y[:, 1]).mean() + 0.1


def test_one_standard_error_rule_prefers_the_simpler_model_only_within_the_noise():
    # per-target 10 % better on average but the folds disagree by far more: KRR, the simplest, is chosen
    noisy = {"mean": [1.0, 1.2], "ridge": [0.6, 0.7], "krr": [0.30, 0.50], "mlp": [0.5, 0.6], "per-target": [0.20, 0.52]}
    name, se = selection.one_standard_error_choice(noisy)
    assert name == "krr" and se == pytest.approx(np.std([0.20, 0.52], ddof=1) / np.sqrt(2))
    # consistent folds: the better model wins
    clear = {**noisy, "per-target": [0.20, 0.21, 0.19], "krr": [0.30, 0.31, 0.29], "mlp": [0.5, 0.5, 0.5],
             "mean": [1, 1, 1], "ridge": [0.6, 0.6, 0.6]}
    assert selection.one_standard_error_choice(clear)[0] == "per-target"
    # a baseline is never preferred for being simple, only when it is the best
    assert selection.one_standard_error_choice({"ridge": [0.30, 0.34], "krr": [0.20, 0.40]})[0] == "krr"
    assert selection.one_standard_error_choice({"ridge": [0.20, 0.21], "krr": [0.29, 0.40]})[0] == "ridge"


def test_with_ten_training_trajectories_or_more_the_lowest_cv_mae_is_chosen():
    noisy = {"mean": [1.0, 1.2, 1.1], "ridge": [0.6, 0.7, 0.65], "krr": [0.30, 0.50, 0.40], "mlp": [0.5, 0.6, 0.55],
             "krr+mlp": [0.25, 0.52, 0.36]}  # 0.377 against the KRR's 0.400: within one standard error (0.078)
    n = selection.LOWEST_CV_MIN_TRAJECTORIES
    assert selection.one_standard_error_choice(noisy, n - 1)[0] == "krr"
    assert selection.one_standard_error_choice(noisy, n)[0] == "krr+mlp"
    # a baseline with the lowest CV MAE is chosen either way
    assert selection.one_standard_error_choice({**noisy, "ridge": [0.2, 0.2, 0.2]}, n)[0] == "ridge"


def test_fold_errors_score_each_candidate_per_fold_on_the_first_states_only():
    y = np.zeros((6, 3))
    folds = [(np.arange(3, 6), np.arange(3)), (np.arange(3), np.arange(3, 6))]
    pred = {"krr": (np.column_stack([np.full(6, 0.1), np.full(6, 0.3), np.full(6, 9.0)]), None),
            "mlp": (np.array([[0.0, 0.0, 9.0]] * 3 + [[1.0, 1.0, 9.0]] * 3), None)}
    maes = selection.fold_errors(pred, y, folds, n_states=2)  # the third column (the gap) is not scored
    assert maes["krr"] == pytest.approx([0.2, 0.2]) and maes["mlp"] == pytest.approx([0.0, 1.0])


def test_choice_is_made_at_the_deployed_size_only_when_the_cv_ran_on_a_subsample(demo_fit):
    fit, frames, _, _ = demo_fit
    m = fit.metrics
    assert m["n_train_frames"] > FAST["cv_max_frames"]  # the fixture's CV runs on a subsample
    assert m["choice_basis"] == f"3-fold cross-validation by trajectory on all {m['n_train_frames']:,} training frames"
    assert m["choice_basis"] in m["choice"]
    assert m["cross_validation"] == f"3-fold cross-validation by trajectory on {FAST['cv_max_frames']} training frames"
    assert all("full_cv_mae_ev" in v for v in m["models"].values())
    chosen = m["chosen"]
    # the chosen one is the lowest there, or with fewer than 20 training trajectories the simplest within one standard
    # error of it: never a baseline here
    assert chosen in selection.SIMPLICITY
    best = min(v["full_cv_mae_ev"] for v in m["models"].values())
    assert best <= m["models"][chosen]["full_cv_mae_ev"] <= best + m["choice_standard_error_ev"] + 1e-5


def test_kernel_primitives_on_hand_computed_points():
    from analysis.surrogate.models import kernel_matrix, pairwise_distances, safe_scale, solve_krr

    a, b = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 0.0]])
    assert pairwise_distances(a, b, "gaussian").tolist() == [[25.0, 0.0]]
    assert pairwise_distances(a, b, "laplacian").tolist() == [[7.0, 0.0]]
    assert kernel_matrix(a, b, "gaussian", 5.0)[0] == pytest.approx([np.exp(-0.5), 1.0])
    assert kernel_matrix(a, b, "laplacian", 5.0)[0] == pytest.approx([np.exp(-1.4), 1.0])
    with pytest.raises(ValueError, match="unknown kernel"):
        pairwise_distances(a, b, "cosine")
    k = np.array([[2.0, 0.5], [0.5, 1.0]])
    y = np.array([[1.0], [2.0]])
    assert solve_krr(k, y, 0.1) == pytest.approx(np.linalg.solve(k + 0.1 * np.eye(2), y))
    assert k.tolist() == [[2.0, 0.5], [0.5, 1.0]]  # not modified
    assert safe_scale(np.array([0.0, 1e-15, 2.0])).tolist() == [1.0, 1.0, 2.0]


def test_candidates_blend_their_parts_with_their_weights():
    y = np.zeros((4, 2))
    single = {"krr": (np.full((4, 2), 0.2), np.full((4, 2), 0.1)), "mlp": (np.full((4, 2), -0.2), np.full((4, 2), 0.1))}
    per_target = np.array([[1.0, 0.0], [0.0, 1.0]])  # S0 from the KRR, the gap rung from the MLP
    out = selection.candidate_predictions(single, per_target=per_target)
    assert set(out) == {"krr", "mlp", "krr+mlp", "per-target"}
    assert out["krr+mlp"][0] == pytest.approx(np.zeros((4, 2)))
    assert out["krr+mlp"][1] == pytest.approx(np.full((4, 2), np.sqrt(0.01 + 0.04)))  # spread includes disagreement
    assert out["per-target"][0][0].tolist() == pytest.approx([0.2, -0.2])
    assert selection.candidate_weights("krr+mlp").tolist() == [1.0, 1.0]
    assert selection.mean_abs_error(y, out["krr"][0]) == pytest.approx(0.2)
    assert "per-target" not in selection.candidate_predictions(single)  # only with its weights


def test_tanh_of_the_mlp_matches_numpy_and_saturates_without_warnings():
    import warnings

    from analysis.surrogate.mlp import ACTIVATIONS

    tanh = ACTIVATIONS["tanh"][0]
    z = np.linspace(-12, 12, 10001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype, tol in ((np.float32, 3e-7), (np.float64, 1e-15)):
            assert np.abs(tanh(z.astype(dtype)) - np.tanh(z)).max() < tol
            extreme = tanh(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype))
            assert extreme.dtype == dtype and extreme.tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]


def test_train_surrogate_and_next_calculations_write_their_files(demo_fit, tmp_path):
    from analysis.surrogate.active import run_next_calculations, trajectory_channels
    from analysis.surrogate.frames import FrameSet
    from analysis.surrogate.train import SurrogateFit, train_surrogate

    fit, frames, _, tmp = demo_fit
    assert isinstance(fit, SurrogateFit) and isinstance(frames, FrameSet)
    metrics = train_surrogate([tmp / "s.npz"], tmp / "traj.parquet", tmp_path / "metrics.json", tmp_path / "model",
                              params=FAST, frame_stride=2, random_state=0)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert metrics["chosen"] == fit.metrics["chosen"]  # the same frames and seed as the fixture's fit
    for name in ("model.json", "model.npz", "heldout_predictions.csv", "learning_curve.csv"):
        assert (tmp_path / "model" / name).is_file(), name
    ids = sorted(set(frames.trajectory_id))
    assignments = pd.DataFrame({"transition": "S1→S0", "trajectory_id": ids, "frame": 10,
                                "channel": ["A1" if k % 2 else "A2" for k in range(len(ids))]})
    assert trajectory_channels(assignments)[ids[1]] == "S1→S0 A1" and trajectory_channels(assignments.iloc[:0]) == {}
    assignments.to_csv(tmp_path / "assignments.csv", index=False)
    index = run_next_calculations(tmp_path / "model", [tmp / "s.npz"], tmp / "traj.parquet", tmp_path / "assignments.csv",
                                  tmp_path / "next", n=4)
    assert len(index) == 4 and (tmp_path / "next" / "index.csv").is_file()
    written = sorted((tmp_path / "next").glob("next_*.xyz"))
    assert len(written) == 4
    lines = written[0].read_text().splitlines()
    assert int(lines[0]) == len(frames.symbols) and len(lines) == len(frames.symbols) + 2


def test_candidates_made_before_the_channels_pick_what_one_step_picks(demo_fit, tmp_path):
    """The workflow scores the candidates in the surrogate's job and picks once the channels are known: the file
    between the two steps loads without pickle and gives the picks (and predicted energies) of one call of
    :func:`next_calculations` on the same frames; with no model, the reason travels through the file."""
    from analysis.surrogate.active import Candidates, committee_candidates, next_calculations, pick_candidates, write_candidates

    fit, frames, _, _ = demo_fit
    sub = frames.take(np.arange(0, len(frames), 5))
    ids = sorted(set(sub.trajectory_id))
    channels = {t: ("S1→S0 A1" if k % 3 else "S1→S0 A2") for k, t in enumerate(ids)}
    direct = next_calculations(fit.model, sub, channels, n=6)
    committee_candidates(fit.model, sub).save(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:  # raises if any member needed pickle
        assert len(z["col/trajectory_id"]) == len(sub)
    picked = pick_candidates(Candidates.load(tmp_path / "c.npz"), channels, n=6)
    pd.testing.assert_frame_equal(picked, direct)
    assert set(picked["channel"]) == {"S1→S0 A1", "S1→S0 A2"}  # round-robin over both channels
    np.testing.assert_array_equal(picked.attrs["coords_angstrom"], direct.attrs["coords_angstrom"])
    none = write_candidates(tmp_path / "no_model", [], tmp_path / "none.parquet", tmp_path / "none.npz")
    assert none.reason == Candidates.load(tmp_path / "none.npz").reason == "no surrogate model (see metrics.json)"


def test_train_surrogate_without_energies_writes_why(tmp_path):
    from analysis.surrogate.train import train_surrogate

    _store_without_energies(tmp_path / "s.npz")
    pd.DataFrame({"trajectory_id": ["T1"], "status": ["ok"], "n_frames": [3], "n_frames_used": [3]}).to_parquet(tmp_path / "t.parquet")
    out = train_surrogate([tmp_path / "s.npz"], tmp_path / "t.parquet", tmp_path / "m.json", tmp_path / "model")
    assert "per-state energies" in out["skipped"]
    assert json.loads((tmp_path / "model" / "skipped.json").read_text()) == out == json.loads((tmp_path / "m.json").read_text())


def _ladder_data(n_traj=12, per=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_traj * per, 6))
    energies = np.column_stack([0.3 * np.sin(x[:, 0]) + 0.1 * x[:, 1], 4.0 + 0.2 * x[:, 2] ** 2, 5.0 + 0.1 * x[:, 3]])
    return x, energies, np.repeat(np.arange(n_traj), per)


def test_tune_and_choose_returns_a_choice_with_every_candidate_fitted():
    from analysis.surrogate.train import DEFAULTS, Choice, tune_and_choose

    x, energies, groups = _ladder_data()
    p = {**DEFAULTS, **FAST, "mlp": {**DEFAULTS["mlp"], "max_iter": 40}, "n_members": 3}
    c = tune_and_choose(x, to_ladder(energies), groups, with_gap(energies), 3, p, random_state=0)
    assert isinstance(c, Choice) and c.chosen in selection.CANDIDATES and c.basis == "cross-validation"
    assert set(c.fitted) == {"mean", "ridge", "krr", "mlp"} and all(s >= 0 for s in c.fit_seconds.values())
    assert c.calibration.shape == (2, 4) and c.per_target.shape == (2, 3)
    assert c.mae[c.chosen] <= min(c.mae.values()) + c.standard_error + 1e-12  # 12 trajectories: the one-standard-error rule
    assert set(c.fold_mae) == set(c.mae) and all(np.mean(v) == pytest.approx(c.mae[k]) and len(v) == 3 for k, v in c.fold_mae.items())
    assert c.mae["krr"] < 0.5 * c.mae["mean"]  # a smooth function of the descriptor: KRR learns it


def test_tune_mlp_prefers_the_architecture_that_can_fit_and_make_factories_build_the_tuned_models():
    x, energies, groups = _ladder_data(seed=1)
    y = to_ladder(energies)
    folds = selection.cv_folds(groups, 3)
    grid = [{"hidden_layer_sizes": [1], "alpha": 10.0}, {"hidden_layer_sizes": [32, 32], "alpha": 1e-4}]
    params, score, mean, std = selection.tune_mlp(x, y, groups, folds, grid, {"max_iter": 60, "n_members": 2}, n_jobs=2)
    assert params == grid[1] and mean.shape == y.shape and (std >= 0).all() and score == pytest.approx(np.abs(mean - y).mean())
    factories = selection.make_factories({"kernel": "laplacian", "length_scale_factor": 2.0, "alpha": 1e-3}, params, 4, 7,
                                         {"max_iter": 5}, {"max_frames": 100})
    krr, mlp = factories["krr"](), factories["mlp"]()
    assert isinstance(krr, KernelRidge) and (krr.kernel, krr.length_scale_factor, krr.max_frames, krr.n_members, krr.random_state) == (
        "laplacian", 2.0, 100, 4, 7)
    assert isinstance(mlp, MLPEnsemble) and (list(mlp.hidden_layer_sizes), mlp.max_iter, mlp.n_members) == ([32, 32], 5, 4)


def test_train_ensemble_shapes_members_and_early_stopping():
    from analysis.surrogate.mlp import train_ensemble

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (x[:, :1] * 0.5 + rng.normal(0, 0.2, (400, 1))).astype(np.float32)  # noise: the validation loss levels off
    weights, biases, epochs = train_ensemble(x, y, np.repeat(np.arange(8), 50), hidden_layer_sizes=(8,), n_members=3, max_epochs=300,
                                             patience=5, random_state=2, learning_rate=1e-2)
    assert [w.shape for w in weights] == [(3, 3, 8), (3, 8, 1)] and [b.shape for b in biases] == [(3, 1, 8), (3, 1, 1)]
    assert not np.allclose(weights[0][0], weights[0][1])  # members start apart
    assert epochs < 300  # the validation loss stops improving at the noise level and early stopping ends training
    again = train_ensemble(x, y, np.repeat(np.arange(8), 50), hidden_layer_sizes=(8,), n_members=3, max_epochs=300, patience=5,
                           random_state=2, learning_rate=1e-2)
    assert all(np.array_equal(a, b) for a, b in zip(weights, again[0]))  # seeded


def test_kernel_ridge_fit_holds_at_most_two_kernel_sized_arrays_and_solve_keeps_its_input():
    """A 4,000-frame kernel is 128 MB: the fit builds it in place and factorizes it in place, after its
    members' (smaller) sub-kernels; measured with tracemalloc, which sees NumPy's allocations."""
    import tracemalloc

    from analysis.surrogate.models import solve_krr

    rng = np.random.default_rng(0)
    n = 1500
    x, y = rng.normal(size=(n, 10)), rng.normal(size=(n, 2))
    tracemalloc.start()
    KernelRidge(length_scale_factor=1.0, alpha=1e-3, n_members=3, member_fraction=0.8).fit(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.0 * n * n * 8, peak / (n * n * 8)  # the kernel and one member's 0.8² of it, not 3-4 kernels
    k = np.array([[2.0, 0.5], [0.5, 1.0]])
    coef = solve_krr(k, np.array([[1.0], [2.0]]), 0.1)
    assert k.tolist() == [[2.0, 0.5], [0.5, 1.0]]
    np.testing.assert_allclose(solve_krr(k.copy(), np.array([[1.0], [2.0]]), 0.1, overwrite=True), coef)


def test_kernel_from_distances_gaussian_and_laplacian():
    from analysis.surrogate.models import kernel_from_distances

    squared = np.array([[0.0, 4.0]])
    np.testing.assert_allclose(kernel_from_distances(squared, "gaussian", 2.0), [[1.0, np.exp(-4.0 / 8.0)]])
    np.testing.assert_allclose(kernel_from_distances(np.array([[0.0, 3.0]]), "laplacian", 1.5), [[1.0, np.exp(-2.0)]])


def test_next_calculations_that_fail_leave_a_reason_not_a_failed_run(tmp_path):
    """A model file that cannot be read (here: not JSON) must not end the run before the report: the index is empty
    and README.txt says why."""
    from analysis.surrogate.active import run_next_calculations

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("not json", encoding="utf-8")
    index = run_next_calculations(tmp_path / "model", [], tmp_path / "none.parquet", tmp_path / "none.csv", tmp_path / "out")
    assert index.empty and list(pd.read_csv(tmp_path / "out" / "index.csv").columns)[:2] == ["rank", "trajectory_id"]
    assert (tmp_path / "out" / "README.txt").read_text().startswith("No next calculations: failed (")


def test_training_domain_threshold_comes_from_the_folds_and_flags_far_geometries():
    """Two trajectories around different points: the threshold is the 95 % quantile of each one's distance to the
    other (a hand computation with SciPy's cdist); the training frames are inside, a point far from both is not."""
    from scipy.spatial.distance import cdist

    from analysis.surrogate.domain import TrainingDomain, nearest_distances

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0.0, 1.0, (60, 4)), rng.normal(1.5, 1.0, (40, 4))])
    groups = np.repeat(["a", "b"], [60, 40])
    folds = selection.cv_folds(groups, 3)
    domain = TrainingDomain(quantile=0.95).fit(x, folds)
    xs = (x - x.mean(0)) / x.std(0)
    by_hand = np.concatenate([cdist(xs[groups == g], xs[groups != g]).min(axis=1) for g in ("a", "b")])
    assert domain.threshold_ == pytest.approx(np.quantile(by_hand, 0.95))
    np.testing.assert_allclose(nearest_distances(xs[:7], xs[50:]), cdist(xs[:7], xs[50:]).min(axis=1), rtol=1e-9)
    assert domain.inside(x).all()
    assert not domain.inside((x.mean(0) + 8 * x.std(0))[None]).any()
    small = TrainingDomain(max_frames=30).fit(x, folds)  # a subsample as the reference: still a finite threshold
    assert small.reference_.shape == (30, 4) and np.isfinite(small.threshold_)


def test_domain_flag_is_measured_on_the_held_out_frames_and_survives_the_model_file(demo_fit, tmp_path):
    fit, frames, _, _ = demo_fit
    d = fit.metrics["domain"]
    out = fit.heldout["outside_training_domain"].to_numpy(bool)
    assert d["heldout_fraction_outside"] == pytest.approx(out.mean()) and np.isfinite(d["threshold"])
    save_model(fit.model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    coords = frames.coords_angstrom[:40]
    far = coords * 1.6  # every bond 60 % longer: unlike any training frame
    table, again = fit.model.predict_table(np.concatenate([coords, far])), loaded.predict_table(np.concatenate([coords, far]))
    pd.testing.assert_frame_equal(table, again)
    assert table["outside_training_domain"].iloc[40:].all() and table["outside_training_domain"].iloc[:40].mean() < 0.5
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    meta["domain"] = None  # a model file without a domain still loads and predicts, without the two columns
    (tmp_path / "model" / "model.json").write_text(json.dumps(meta))
    assert "outside_training_domain" not in load_model(tmp_path / "model").predict_table(coords).columns


def test_trajectories_with_other_states_are_left_out_and_named_not_the_whole_surrogate(tmp_path):
    # two 2-state runs and one 3-state run (another setup in the same folder): the surrogate trains on the majority;
    # before, the whole surrogate was skipped
    from analysis.io.store import write_store
    from analysis.io.trajectory import Trajectory
    from analysis.report.build import warnings_lines

    def traj(tid, n_states):
        t = np.arange(0.0, 5.0, 0.5)
        e = np.column_stack([np.linspace(0, 1, len(t)) + 3.0 * k for k in range(n_states)])
        return Trajectory(trajectory_id=tid, source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=[], extra={},
                          time_fs=t, coords_angstrom=np.tile([[0, 0, 0], [0, 0, 0.74]], (len(t), 1, 1)).astype(float),
                          active_state=np.full(len(t), 2), energies_ev=e, total_energy_ev=np.full(len(t), 5.0),
                          potential_energy_ev=e[:, 1], masses_amu=np.ones(2), populations=None, multiplicities=None)

    write_store([traj("T1", 2), traj("T2", 3), traj("T3", 2)], tmp_path / "s.npz")
    frames = collect_frames([tmp_path / "s.npz"], {"T1": 10, "T2": 10, "T3": 10})
    assert sorted(set(frames.trajectory_id)) == ["T1", "T3"] and frames.energies_ev.shape == (20, 2)
    assert frames.left_out == {"T2": "3 states where the other 2 trajectories have 2"}
    assert frames.take(np.arange(3)).left_out == frames.left_out
    table = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "format": "xyz", "status": "ok", "reason": ""})
    metrics = {"chosen": "krr", "models": {"krr": {"mean_mae_ev": 0.1}, "mean": {"mean_mae_ev": 0.5}}, "left_out": frames.left_out,
               "uncertainty": {"coverage_2sigma": 0.95}}
    lines = warnings_lines(table, [], metrics, 3, "transitions")
    assert lines[:2] == ["surrogate trained without 1 trajectory (one surrogate is one molecule, one set of states and one energy "
                         "reference):",
                         "  T2: 3 states where the other 2 trajectories have 2"]


def test_trajectories_on_another_energy_reference_are_left_out(tmp_path):
    # two runs of one method and one of another (absolute energies 100 eV apart): a surrogate fitted across both learns
    # the offset; the minority is left out and named
    from analysis.io.store import write_store
    from analysis.io.trajectory import Trajectory

    def traj(tid, offset):
        t = np.arange(0.0, 5.0, 0.5)
        e = np.column_stack([np.linspace(0, 1, len(t)) + 3.0 * k + offset for k in range(2)])
        return Trajectory(trajectory_id=tid, source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=[], extra={},
                          time_fs=t, coords_angstrom=np.tile([[0, 0, 0], [0, 0, 0.74]], (len(t), 1, 1)).astype(float),
                          active_state=np.full(len(t), 2), energies_ev=e, total_energy_ev=np.full(len(t), 5.0 + offset),
                          potential_energy_ev=e[:, 1], masses_amu=np.ones(2), populations=None, multiplicities=None)

    write_store([traj("T1", -2580.0), traj("T2", -2480.0), traj("T3", -2580.5)], tmp_path / "s.npz")
    frames = collect_frames([tmp_path / "s.npz"], {"T1": 10, "T2": 10, "T3": 10})
    assert sorted(set(frames.trajectory_id)) == ["T1", "T3"]
    assert list(frames.left_out) == ["T2"] and "more than 3 eV from the other 2 trajectories' (-2580.50 to -2580.00 eV)" in frames.left_out["T2"]


def test_an_mlp_grid_candidate_may_set_its_own_activation():
    """The schema accepts ``activation`` (and ``learning_rate_init``) in an ``mlp_grid`` entry, and tuning hands it to
    the candidate's networks; a key the MLP does not have is refused by the schema."""
    import jsonschema
    import yaml

    from analysis.settings import load_schema

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["surrogate"]["mlp_grid"] = [{"hidden_layer_sizes": [8], "alpha": 1e-3, "activation": "relu", "learning_rate_init": 0.01}]
    jsonschema.validate(config, load_schema())
    config["surrogate"]["mlp_grid"][0]["activation"] = "sigmoid"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, load_schema())

    rng = np.random.default_rng(0)
    x, groups = rng.normal(size=(90, 4)), np.repeat(np.arange(3), 30)
    y = np.column_stack([np.abs(x[:, 0]), x[:, 1]])  # a kink: what a ReLU network is made of
    grid = [{"hidden_layer_sizes": [8], "activation": "relu", "learning_rate_init": 0.01}]
    params, _, mean, _ = selection.tune_mlp(x, y, groups, selection.cv_folds(groups), grid, {"n_members": 2, "max_iter": 5})
    assert params == grid[0] and mean.shape == y.shape
    # the candidate's out-of-fold predictions are a ReLU network's: those of the same grid with tanh differ
    tanh = selection.tune_mlp(x, y, groups, selection.cv_folds(groups), [{**grid[0], "activation": "tanh"}], {"n_members": 2, "max_iter": 5})
    assert not np.allclose(tanh[2], mean)


def test_on_the_demos_piecewise_linear_pes_the_aligned_relu_candidate_holds_out_better(demo_fit):
    """Why the default grid has an MLP on the aligned Cartesian displacement: the demo's S1–S0 gap is piecewise linear
    in that displacement (a max over channel projections, DemoPES), which a ReLU network follows and 1/r bends.
    Trained directly (no CV) on the same training trajectories, it holds the held-out gap to under half the error of
    the tanh network on inverse distances (measured: 0.08 against 0.27 eV)."""
    from analysis.surrogate.descriptors import aligned_cartesian, inverse_distances

    _, frames, _, _ = demo_fit
    c, e, g = frames.coords_angstrom, frames.energies_ev, np.asarray(frames.trajectory_id)
    train, test, _ = selection.heldout_split(g, 0.2, 0)
    gap_mae = {}
    for name, x, params in (("aligned", aligned_cartesian(c, c[0]), {k: v for k, v in selection.MLP_GRID[-1].items() if k != "descriptor"}),
                            ("inverse", inverse_distances(c), selection.MLP_GRID[0])):
        model = MLPEnsemble(**params, n_members=2).fit(x[train], to_ladder(e[train]), g[train])
        predicted = from_ladder(*model.predict(x[test], return_std=True))[0]
        gap_mae[name] = np.abs(predicted[:, -1] - (e[test, 1] - e[test, 0])).mean()
    assert selection.MLP_GRID[-1]["descriptor"] == "aligned_cartesian"
    assert gap_mae["aligned"] < 0.5 * gap_mae["inverse"]
