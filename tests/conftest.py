"""Shared fixtures. Real-data tests skip cleanly when ../shared/data is absent (a fresh user clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared(*parts) -> Path:
    """Path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (../shared/data is only beside the project in CI and dev machines)")
    return path


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """A 24-trajectory demo ensemble (2 broken) and its truth table."""
    from analysis.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    truth = generate_demo(out, n_trajectories=24, seed=7, t_max_fs=200.0, dt_fs=0.5, broken_fraction=0.1)
    return out, truth


SNAKEMAKE_FAST = """
ingest: {n_batches: 1}
surrogate: {n_members: 2, mlp_grid: [{hidden_layer_sizes: [16]}], mlp: {max_iter: 20},
            krr_grid: {kernel: [gaussian], length_scale_factor: [2.0], alpha: [1.0e-5]}, cv_max_frames: 1000, learning_curve: false}
cluster: {bootstrap: 20}
"""


def run_snakemake(workdir, config_text, *extra, timeout=900, fast=True, targets=(), env=None):
    """The real ``snakemake`` on ``config_text`` (YAML) in ``workdir``; ``fast`` adds one ingest batch and a tiny
    surrogate (a second ``--configfile`` overrides the first key by key); ``targets`` (files) instead of ``all``;
    ``env`` replaces the environment (PYTHONPATH is still set)."""
    import os
    import subprocess
    import sys

    cfg = Path(workdir) / "test.yaml"
    cfg.write_text(config_text)
    files = [str(cfg)]
    if fast:
        (Path(workdir) / "fast.yaml").write_text(SNAKEMAKE_FAST)
        files.insert(0, str(Path(workdir) / "fast.yaml"))
    cmd = [str(Path(sys.executable).with_name("snakemake")), *targets, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
           "--configfile", *files, *extra]
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def write_nx_ensemble(root, hopping, t_max_fs=60.0, dt_fs=0.5, seed=0) -> list:
    """Newton-X trajectories of the demo molecule (C6 puckering channel) at ``root/TRAJ1..``, one per entry of
    ``hopping``: True hops S1→S0 where its planted deformation completes, False never hops (stays on S1).

    Returns the hop time (fs) of each trajectory, None for those that never hop.
    """
    import numpy as np

    from analysis import demo

    rng = np.random.default_rng(seed)
    xyz = demo.equilibrium_geometry()
    omega, modes = demo.normal_modes(xyz, demo.SYMBOLS)
    pes = demo.DemoPES(xyz)
    time_fs = np.round(np.arange(0.0, t_max_fs + dt_fs / 2, dt_fs), 6)
    times = []
    for k, hop in enumerate(hopping, start=1):
        coords, energies, planted = demo.simulate_trajectory(rng, xyz, omega, modes, pes, 0, time_fs)
        active = np.where(time_fs < planted, 2, 1) if hop else np.full(len(time_fs), 2)
        demo.write_newtonx_trajectory(Path(root) / f"TRAJ{k}", demo.SYMBOLS, time_fs, coords, energies, active,
                                      np.eye(3)[active - 1], dt_fs)
        times.append(planted if hop else None)
    return times
