"""Clustering with resampling stability at scale (issue 9): wall time for N events, 100 resamples.

Run: .venv/bin/python bench/cluster_scale.py [n_events ...] [--jobs N]   (default 1000 5000, jobs = all cores)

The events are synthetic PCA scores (10 components): eight Gaussian channels of 4–25 % with unit thermal
spread, centres 6–9 units apart on the leading components (as the family scaling puts a full channel motion
of ~0.5 Å at ~5 units) — the clustering stage alone, as ``cluster_events`` runs it in the pipeline: by the events'
directions from the Franck–Condon point, here the origin of the scores (``fc_scores``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.channels import cluster_events  # noqa: E402
from analysis.workload import PARALLEL_MIN_WORK  # noqa: E402

SHARES = np.array([0.25, 0.18, 0.15, 0.12, 0.1, 0.08, 0.08, 0.04])


def synthetic_scores(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.zeros((len(SHARES), 10))
    centres[:, :4] = rng.normal(0, 1, (len(SHARES), 4))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) / rng.uniform(6, 9, (len(SHARES), 1))
    truth = np.repeat(np.arange(len(SHARES)), np.round(SHARES * n).astype(int))[:n]
    x = centres[truth] + rng.normal(0, 1, (len(truth), 10)) * np.r_[np.ones(4), 0.5 * np.ones(6)]
    scores = pd.DataFrame(x, columns=[f"PC{i + 1}" for i in range(10)])
    scores.insert(0, "transition", "S1→S0")
    scores.insert(1, "trajectory_id", [f"TRAJ{i + 1}" for i in range(len(truth))])
    scores.insert(2, "frame", 100)
    return scores, truth


def main(sizes, n_jobs):
    print(f"{'events':>7s} {'resamples':>9s} {'jobs':>4s} {'wall s':>7s} {'channels':>8s} {'ARI':>6s} {'min stability':>13s}")
    for n in sizes:
        scores, truth = synthetic_scores(n)
        events = scores[["transition", "trajectory_id", "frame"]].assign(time_fs=50.0, kind="hop")
        start = time.perf_counter()
        assign, stats = cluster_events(scores, events, {"bootstrap": 100, "n_jobs": n_jobs}, {"S1→S0": {"n_components": 4, "fc_scores": [0.0] * 10}})
        wall = time.perf_counter() - start
        ari = adjusted_rand_score(truth, assign["channel"])
        jobs = n_jobs if len(truth) * 100 >= PARALLEL_MIN_WORK else 1  # what channel_stability uses
        print(f"{len(truth):7d} {100:9d} {jobs:4d} {wall:7.1f} {len(stats):8d} {ari:6.3f} {stats['stability'].min():13.3f}", flush=True)


if __name__ == "__main__":
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else os.cpu_count() or 1
    sizes = [int(a) for a in sys.argv[1:] if a.isdigit() and (sys.argv.index(a) == 0 or sys.argv[sys.argv.index(a) - 1] != "--jobs")]
    main(sizes or [1000, 5000], jobs)
