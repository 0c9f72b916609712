"""Surrogate benchmark: held-out-trajectory MAE of the chosen predictor vs an independently tuned KRR, and speed.

    python bench/surrogate.py                 # every real set under ../shared/data with energies + the demo
    python bench/surrogate.py --each-heldout 5  # on sets of <= 5 trajectories: each one held out in turn, and means
    python bench/surrogate.py --planted       # the independently planted ensembles with energies (bench/independent_planted.py)
    python bench/surrogate.py --speed         # training time for 5k / 20k frames, prediction geometries/s

The reference KRR is written here with scikit-learn only (``KernelRidge``, RBF kernel on standardized inverse
distances, gamma and alpha by ``GridSearchCV`` over 3-fold ``GroupKFold`` of the training trajectories), on
the same held-out split as hopscope's, so it is an independent check of the claim "never worse than KRR".

``--planted`` adds ensembles neither the library nor its demo wrote: the Newton-X and PyRAI2MD configurations of
``bench/independent_planted.py`` (14-50 trajectories of 5-18 atoms), whose energies are smooth functions of a
channel's progress that the geometry carries only through thermal noise and a spread of amplitudes: a surrogate
there cannot reach zero error, and the comparison is with a KRR tuned on the same, noisy data.
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


PLANTED = "planted:"


def planted_sets() -> list[str]:
    """``planted:<configuration>`` for every configuration of bench/independent_planted.py written in a format that
    carries per-state energies (its SHARC writer leaves out output.dat)."""
    import independent_planted

    return [PLANTED + name for name, ens in independent_planted.configs().items() if ens.fmt in ("newtonx", "pyrai2md")]


def planted_ensemble(config: str, tmp: Path) -> Path:
    """Write the planted configuration ``config`` of bench/independent_planted.py under ``tmp``; its root."""
    import independent_planted

    independent_planted.generate(independent_planted.configs()[config], tmp / "planted" / "ensemble")
    return tmp / "planted" / "ensemble"


def reference_krr(frames, random_state=0, test_fraction=0.2, test_trajectories=None):
    """MAE (mean over states, eV) of a scikit-learn KRR tuned on the training trajectories of hopscope's split."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from analysis.surrogate.descriptors import inverse_distances
    from analysis.surrogate.selection import heldout_split

    x, y, g = inverse_distances(frames.coords_angstrom), frames.energies_ev, np.asarray(frames.trajectory_id)
    train, test, _ = heldout_split(g, test_fraction, random_state, test_trajectories)
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


def accuracy(sets, each_heldout: int = 0):
    """One row per set on hopscope's own split (out %: held-out frames outside the training domain; in / out: the
    chosen model's MAE on the frames inside / outside it); with ``each_heldout`` > 0, on sets of at most that many
    trajectories, one row per trajectory held out in turn (the others train) and a row of their means: with
    2-5 trajectories one split's comparison is mostly the luck of which trajectory is held out."""
    from analysis.demo import generate_demo
    from analysis.surrogate.frames import SurrogateSkipped
    from analysis.surrogate.train import fit_surrogate

    ratios = []  # chosen / reference KRR of every row (each split), for the summary line
    print(f"{'set':44s} {'held out':>10s} {'frames':>7s} {'chosen':>8s} {'chosen':>7s} {'KRR':>6s} {'refKRR':>6s} {'MLP':>6s} "
          f"{'ridge':>6s} {'mean':>6s} {'gap':>6s} {'2σ cov':>6s} {'out %':>6s} {'in':>6s} {'out':>6s} {'s':>5s}")
    for name in sets:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if name == "demo":
                generate_demo(tmp / "demo", n_trajectories=60, seed=1)
                root = tmp / "demo" / "ensemble"
            elif name.startswith(PLANTED):
                root = planted_ensemble(name.removeprefix(PLANTED), tmp)
            else:
                root = SHARED / name
                if not root.exists():
                    print(f"{name[:44]:44s} (absent: {root})")
                    continue
            try:
                frames = frames_of(root, tmp)
            except SurrogateSkipped as exc:  # e.g. SHARC runs without output.dat: no per-state energies
                print(f"{name[:44]:44s} skipped: {exc}")
                continue
            ids = sorted(set(frames.trajectory_id))
            splits = [[t] for t in ids] if 2 <= len(ids) <= each_heldout else [None]
            rows = []
            for held in splits:
                try:  # the learning curve changes no metric
                    fit = fit_surrogate(frames, {"learning_curve": False}, random_state=0, n_jobs=2, test_trajectories=held)
                except SurrogateSkipped as exc:
                    print(f"{name[:44]:44s} skipped: {exc}")
                    continue
                m = fit.metrics
                mae = {k: v["mean_mae_ev"] for k, v in m["models"].items()}
                gap = next((v["mae_ev"] for k, v in m["models"][m["chosen"]].items() if k.startswith("gap_")), float("nan"))
                dom = m["domain"]
                row = [mae[m["chosen"]], mae["krr"], reference_krr(frames, test_trajectories=held), mae["mlp"], mae["ridge"], mae["mean"],
                       gap, m["uncertainty"]["coverage_2sigma"], 100 * dom["heldout_fraction_outside"],
                       _nan(dom["heldout_mae_inside_ev"]), _nan(dom["heldout_mae_outside_ev"]), m["train_seconds"]]
                rows.append(row)
                ratios.append(row[0] / row[2])
                label = ",".join(sorted(set(fit.heldout.trajectory_id)))[-10:]
                print(f"{name[:44]:44s} {label:>10s} {len(frames):7d} {m['chosen']:>8s} " + _cells(row), flush=True)
            if len(rows) > 1:
                print(f"{name[:44]:44s} {'mean':>10s} {len(frames):7d} {'':>8s} " + _cells(np.nanmean(rows, axis=0)), flush=True)
    if ratios:
        ratios = np.asarray(ratios)
        print(f"chosen / refKRR over {len(ratios)} rows: geometric mean {np.exp(np.log(ratios).mean()):.3f}, worse on "
              f"{int((ratios > 1.0005).sum())} (largest {ratios.max():.3f})")


def _cells(row) -> str:
    return " ".join(f"{v:{w}.{d}f}" for v, w, d in zip(row, (7, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5), (3, 3, 3, 3, 3, 3, 3, 2, 0, 3, 3, 0)))


def _nan(value) -> float:
    return float("nan") if value is None else float(value)


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
    parser.add_argument("--planted", action="store_true", help="also the independently planted ensembles with energies")
    parser.add_argument("--each-heldout", type=int, default=0, metavar="N",
                        help="on sets of at most N trajectories hold out each trajectory in turn and print the means")
    args = parser.parse_args()
    if args.speed:
        speed()
    else:
        accuracy(args.sets + (planted_sets() if args.planted else []), args.each_heldout)
