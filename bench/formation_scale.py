"""Frame-level channel assignment at scale (issue 13): every time-resolved frame assigned to the nearest channel
centroid and each trajectory's formation time, for 10^6 frames, with wall time and peak memory.

    python bench/formation_scale.py [n_trajectories] [n_frames_per_trajectory]

Synthetic known answer: 1,000 trajectories x 1,000 frames (default), 6 channels in 40 features; each
trajectory sits near another channel's centroid and jumps to its own at a planted time. The script
checks the recovered formation times against the planted ones and prints wall s, frames/s and the process's
peak RSS (ru_maxrss, the whole run including building the tables).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.formation import formation_times  # noqa: E402


def planted(n_traj: int, n_frames: int, n_channels: int = 6, n_features: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    columns = [f"feature{k}" for k in range(n_features)]  # no family: unit 1
    centroids = rng.normal(scale=1.0, size=(n_channels, n_features))
    channel = rng.integers(n_channels, size=n_traj)
    commit = rng.uniform(0.3, 0.7, size=n_traj) * n_frames  # frame index from which the trajectory is committed
    t = np.arange(n_frames, dtype=float)
    # before commit: near another channel's centroid; from the commit frame on: near its own
    committed = t[None, :] >= commit[:, None]  # (n_traj, n_frames)
    ids = np.repeat([f"T{i:05d}" for i in range(n_traj)], n_frames)
    x = np.empty((n_traj * n_frames, n_features), dtype=np.float32)
    for start in range(0, n_traj, 100):  # build in blocks to keep the generator itself small
        stop = min(start + 100, n_traj)
        own, other = centroids[channel[start:stop]], centroids[(channel[start:stop] + 1) % n_channels]
        block = np.where(committed[start:stop, :, None], own[:, None, :], other[:, None, :])
        block = block + rng.normal(scale=0.05, size=block.shape)
        x[start * n_frames:stop * n_frames] = block.reshape(-1, n_features)
    frames = pd.DataFrame(x, columns=columns)
    frames.insert(0, "time_fs", np.tile(t * 0.5, n_traj))
    frames.insert(0, "trajectory_id", ids)
    last = frames.groupby("trajectory_id").tail(1)
    events = last.assign(frame=n_frames - 1, time_fs=(n_frames - 1) * 0.5 + 0.25)
    assignments = pd.DataFrame({"trajectory_id": events["trajectory_id"], "frame": n_frames - 1,
                                "channel": [f"A{c + 1}B1" for c in channel]})
    return frames, events, assignments, columns, np.ceil(commit) * 0.5


def main(n_traj: int = 1000, n_frames: int = 1000) -> None:
    frames, events, assignments, columns, truth_fs = planted(n_traj, n_frames)
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    got = formation_times(events, frames, assignments, columns)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    got = got.set_index("trajectory_id").loc[events["trajectory_id"]]
    exact = float(np.mean(np.isclose(got["formation_time_fs"].to_numpy(), truth_fs)))
    print(f"{len(frames):,} frames ({n_traj} trajectories x {n_frames}), {len(columns)} features, "
          f"{assignments['channel'].nunique()} channels")
    print(f"assignment + formation: {wall:.1f} s, {len(frames) / wall:,.0f} frames/s; peak RSS {peak:,.0f} MB "
          f"(inputs alone {rss_inputs:,.0f} MB); formation time exact for {100 * exact:.1f} % of trajectories")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
