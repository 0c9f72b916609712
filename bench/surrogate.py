"""Surrogate benchmark: held-out-trajectory MAE of the chosen predictor vs an independently tuned KRR, and speed.

    python bench/surrogate.py                 # every real set under ../shared/data with energies + the demo
    python bench/surrogate.py --speed         # training time for 5k / 20k frames, prediction geometries/s

The reference KRR is written here with scikit-learn only (``KernelRidge``, RBF kernel on standardized inverse
distances, gamma and alpha by ``GridSearchCV`` over 3-fold ``GroupKFold`` of the training trajectories), on
the same held-out split as hopscope's, so it is an independent check of the claim "never worse than KRR".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
REAL_SETS = ["newtonx/cyclohexadiene_nx2.2", "newtonx/cyclohexadiene_nx2.2_b", "newtonx/pyrazine_nx2.6", "sharc/ch2nh2_sharc2.0",
             "sharc/ch2s_sharc2_full", "pyrai2md/ch2nh2", "nexmd/benzene"]


def frames_of(root: Path, tmp: Path):
    """Ingest + QC ``root`` with the library (no Snakemake) and collect the surrogate's frames."""
    from analysis.ingest import ingest_batch
    from analysis.io.store import usable_frames
    from analysis.qc import run_qc
    from analysis.surrogate.frames import collect_frames

    ingest_batch(root, tmp / "s.npz", tmp / "t.csv")
    run_qc([tmp / "s.npz"], [tmp / "t.csv"], tmp / "qc.csv", tmp / "traj.parquet", policy="truncate")
    return collect_frames([tmp / "s.npz"], usable_frames(tmp / "traj.parquet"))


def reference_krr(frames, random_state=0, test_fraction=0.2):
    """MAE (mean over states, eV) of a scikit-learn KRR tuned on the training trajectories of hopscope's split."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from analysis.surrogate.descriptors import inverse_distances
    from analysis.surrogate.selection import heldout_split

    x, y, g = inverse_distances(frames.coords_angstrom), frames.energies_ev, np.asarray(frames.trajectory_id)
    train, test, _ = heldout_split(g, test_fraction, random_state)
    if len(train) > 4000:
        train = np.sort(np.random.default_rng(0).choice(train, 4000, replace=False))
    y_mean, y_std = y[train].mean(0), y[train].std(0) + 1e-12
    n_groups = len(np.unique(g[train]))
    cv = GroupKFold(n_splits=min(3, n_groups)) if n_groups >= 2 else KFold(3)
    n_feat = x.shape[1]
    grid = {"kernelridge__gamma": [g0 / n_feat for g0 in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)],
            "kernelridge__alpha": [1e-8, 1e-6, 1e-4, 1e-2, 1e-1]}
    search = GridSearchCV(make_pipeline(StandardScaler(), KernelRidge(kernel="rbf")), grid, cv=cv, scoring="neg_mean_absolute_error")
    search.fit(x[train], (y[train] - y_mean) / y_std, groups=g[train] if n_groups >= 2 else None)
    pred = search.predict(x[test]) * y_std + y_mean
    return float(np.abs(pred - y[test]).mean())


def accuracy(sets):
    from analysis.demo import generate_demo
    from analysis.surrogate.frames import SurrogateSkipped
    from analysis.surrogate.train import fit_surrogate

    print(f"{'set':34s} {'traj':>5s} {'frames':>7s} {'chosen':>8s} {'chosen':>7s} {'KRR':>6s} {'refKRR':>6s} {'MLP':>6s} "
          f"{'ridge':>6s} {'mean':>6s} {'gap':>6s} {'2σ cov':>6s} {'s':>5s}")
    for name in sets:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if name == "demo":
                generate_demo(tmp / "demo", n_trajectories=60, seed=1)
                root = tmp / "demo" / "ensemble"
            else:
                root = SHARED / name
                if not root.exists():
                    print(f"{name:34s} (absent: {root})")
                    continue
            try:
                frames = frames_of(root, tmp)
                fit = fit_surrogate(frames, {"learning_curve": False}, random_state=0, n_jobs=2)  # the curve changes no metric
            except SurrogateSkipped as exc:
                print(f"{name:34s} skipped: {exc}")
                continue
            m = fit.metrics
            ref = reference_krr(frames)
            mae = {k: v["mean_mae_ev"] for k, v in m["models"].items()}
            gap = next((v["mae_ev"] for k, v in m["models"][m["chosen"]].items() if k.startswith("gap_")), float("nan"))
            print(f"{name:34s} {m['n_train_trajectories'] + m['n_test_trajectories']:5d} {len(frames):7d} {m['chosen']:>8s} "
                  f"{mae[m['chosen']]:7.3f} {mae['krr']:6.3f} {ref:6.3f} {mae['mlp']:6.3f} {mae['ridge']:6.3f} {mae['mean']:6.3f} "
                  f"{gap:6.3f} {m['uncertainty']['coverage_2sigma']:6.2f} {m['train_seconds']:5.0f}", flush=True)


def speed():
    from analysis.demo import generate_demo
    from analysis.surrogate.train import fit_surrogate

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_demo(tmp / "demo", n_trajectories=100, seed=3, t_max_fs=400.0)
        all_frames = frames_of(tmp / "demo" / "ensemble", tmp)
        print(f"demo molecule: {len(all_frames.symbols)} atoms, {len(all_frames)} frames available")
        for n in (5000, 20000):
            frames = all_frames.take(np.sort(np.random.default_rng(0).choice(len(all_frames), min(n, len(all_frames)), replace=False)))
            t0 = time.perf_counter()
            fit = fit_surrogate(frames, {"learning_curve": False}, random_state=0, n_jobs=2)
            train_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            fit.model.predict(all_frames.coords_angstrom[:20000])
            rate = min(20000, len(all_frames)) / (time.perf_counter() - t0)
            print(f"{len(frames):6d} frames: training (tuning + {fit.metrics['n_members']} members + calibration) {train_s:6.1f} s, "
                  f"chosen {fit.metrics['chosen']}, prediction {rate:,.0f} geometries/s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="training time and prediction throughput only")
    parser.add_argument("--sets", nargs="*", default=REAL_SETS + ["demo"])
    args = parser.parse_args()
    if args.speed:
        speed()
    else:
        accuracy(args.sets)
