"""Independent fits spread over processes give what the same fits give one after another."""

import os

import numpy as np

from analysis.surrogate.models import KernelRidge, MLPEnsemble
from analysis.surrogate.parallel import run_tasks
from analysis.surrogate.selection import cross_validate_and_fit, cv_folds, out_of_fold_models


def _pid_and_square(k):
    return os.getpid(), k * k


def test_run_tasks_keeps_order_and_uses_worker_processes():
    serial = run_tasks(_pid_and_square, [(k,) for k in range(6)], n_jobs=1)
    parallel = run_tasks(_pid_and_square, [(k,) for k in range(6)], n_jobs=2)
    assert [v for _, v in serial] == [v for _, v in parallel] == [0, 1, 4, 9, 16, 25]
    assert {pid for pid, _ in serial} == {os.getpid()}
    assert os.getpid() not in {pid for pid, _ in parallel}
    assert run_tasks(_pid_and_square, [], n_jobs=2) == []


def _data(n_traj=6, per=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_traj * per, 5))
    y = np.column_stack([np.sin(x[:, 0]) + 0.1 * x[:, 1], x[:, 2] ** 2])
    return x, y, np.repeat(np.arange(n_traj), per)


def test_cross_validate_and_fit_equals_the_fits_written_out_and_does_not_depend_on_n_jobs():
    x, y, groups = _data()
    folds = cv_folds(groups, 3)
    factories = {"krr": lambda: KernelRidge(length_scale_factor=1.0, alpha=1e-3, n_members=2),
                 "mlp": lambda: MLPEnsemble(hidden_layer_sizes=(8,), max_iter=30, n_members=2, random_state=3)}
    results = {n_jobs: cross_validate_and_fit(factories, x, y, groups, folds, n_jobs=n_jobs) for n_jobs in (1, 2)}
    for name, make in factories.items():
        by_hand = np.full(y.shape, np.nan)
        for fit_idx, val_idx in folds:
            by_hand[val_idx] = make().fit(x[fit_idx], y[fit_idx], groups[fit_idx]).predict(x[val_idx])
        whole = make().fit(x, y, groups).predict(x[:7])
        for oof, fitted, seconds in results.values():
            assert not np.isnan(oof[name][0]).any()
            np.testing.assert_allclose(oof[name][0], by_hand, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(fitted[name].predict(x[:7]), whole, rtol=1e-6, atol=1e-9)
            assert seconds[name] >= 0
    assert np.array_equal(results[1][0]["mlp"][0], results[2][0]["mlp"][0])  # one BLAS thread in both: same bits
    oof_only = out_of_fold_models(factories, x, y, groups, folds)
    np.testing.assert_allclose(oof_only["krr"][0], results[1][0]["krr"][0], rtol=1e-12)


def _fails_in_a_worker(k, parent_pid):
    if os.getpid() != parent_pid:
        raise MemoryError("worker lost")
    return k + 1


def test_run_tasks_falls_back_to_running_here_when_the_pool_fails(caplog):
    assert run_tasks(_fails_in_a_worker, [(k, os.getpid()) for k in (1, 2, 3)], n_jobs=2) == [2, 3, 4]
    assert "worker processes failed (MemoryError: worker lost)" in caplog.text


def test_train_surrogate_records_an_unexpected_failure_and_lets_the_run_go_on(tmp_path, monkeypatch):
    import json

    import pandas as pd

    from analysis.surrogate import train
    from analysis.surrogate.frames import FrameSet

    frames = FrameSet(np.zeros((4, 2, 3)), np.zeros((4, 2)), np.array(["T1"] * 4, dtype=object), np.arange(4.0), np.full(4, np.nan),
                      symbols=["H", "H"], state_names=["S0", "S1"])
    monkeypatch.setattr(train, "collect_frames", lambda *a, **k: frames)
    monkeypatch.setattr(train, "fit_surrogate", lambda *a, **k: (_ for _ in ()).throw(ValueError("singular matrix")))
    pd.DataFrame({"trajectory_id": ["T1"], "status": ["ok"], "n_frames": [4], "n_frames_used": [4]}).to_parquet(tmp_path / "t.parquet")
    out = train.train_surrogate([], tmp_path / "t.parquet", tmp_path / "m.json", tmp_path / "model")
    assert out["skipped"].startswith("surrogate failed (ValueError: singular matrix)")
    assert json.loads((tmp_path / "model" / "skipped.json").read_text()) == out


def test_run_tasks_runs_here_without_a_warning_where_processes_cannot_start():
    """A container without writable /dev/shm: joblib finds no semaphores (JOBLIB_MULTIPROCESSING=0 gives the same)
    and its loky backend turns into threads, which refuse ``inner_max_num_threads``. This ended a real run."""
    import subprocess
    import sys

    code = ("import logging, os; logging.basicConfig(level=logging.INFO)\n"
            "from analysis.surrogate.parallel import run_tasks\n"
            "print(run_tasks(pow, [(k, 2) for k in range(4)], n_jobs=2))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "JOBLIB_MULTIPROCESSING": "0"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 1, 4, 9]"
    assert "no process-shared semaphores here" in done.stderr
    assert "worker processes failed" not in done.stderr


def _dataframe_libraries_loaded():
    import sys

    import sklearn.model_selection  # noqa: F401 - imports pandas where pandas can be imported

    return [name for name in ("pandas", "pyarrow") if sys.modules.get(name) is not None]


def test_workers_fit_without_pandas_and_pyarrow():
    """The fits take and return arrays; the workers leave out two libraries that cost each about 60 MB."""
    assert run_tasks(_dataframe_libraries_loaded, [(), ()], n_jobs=2) == [[], []]


def test_the_learning_curve_runs_in_worker_processes(caplog):
    """Its task lived in analysis.surrogate.train, which imports pandas: a worker (pandas blocked) could not
    unpickle it, the pool broke, and every demo run fitted the curve's 12 models one after another."""
    import logging
    from functools import partial

    from analysis.surrogate.selection import make_factories
    from analysis.surrogate.targets import energies_of_ladder, to_ladder
    from analysis.surrogate.train import learning_curve

    x, y, groups = _data(n_traj=8)
    ladder = to_ladder(y)
    factories = make_factories({"kernel": "gaussian", "length_scale_factor": 1.0, "alpha": 1e-3},
                               {"hidden_layer_sizes": (8,)}, 2, 0, {"max_iter": 20})
    train, test = groups < 6, groups >= 6
    with caplog.at_level(logging.INFO, logger="analysis.surrogate.parallel"):
        curves = {n_jobs: learning_curve(x[train], ladder[train], groups[train], x[test], y[test], factories, n_jobs=n_jobs,
                                         sizes=[100, int(train.sum())]) for n_jobs in (1, 2)}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert list(curves[2]["n_train_frames"]) == [100, 100, 240, 240]
    np.testing.assert_allclose(curves[1]["mae_ev"], curves[2]["mae_ev"], rtol=1e-6)
    by_hand = np.abs(energies_of_ladder(partial(factories["krr"], n_members=0)().fit(x[train], ladder[train], groups[train])
                                        .predict(x[test])) - y[test]).mean()
    assert np.isclose(curves[2]["mae_ev"].iloc[2], by_hand, rtol=1e-6)
