"""The demo pipeline through a real single-node SLURM (``make test-cluster``): every job goes through sbatch with
the SLURM workflow profile, and the results equal those of a local run of the same configuration.

SLURM (Debian's slurm-wlm 22.05 + munge) is installed and started by ``tests/slurm/local_slurm.sh``, which stops
exactly the daemons it started; the test skips, saying why, where the packages cannot be installed or started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, SNAKEMAKE_FAST, run_snakemake

pytestmark = pytest.mark.cluster

SCRIPT = ROOT / "tests" / "slurm" / "local_slurm.sh"
CONFIG = "input: {root: demo}\ndemo: {n_trajectories: 24, broken_fraction: 0.05}\n"
# the profile asks for 4 CPUs for cluster and surrogate and 2 for the report (a real cluster node); the test node has
# what nproc says
NODE = os.cpu_count() or 1


@pytest.fixture(scope="module")
def slurm_conf(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    proc = subprocess.run([str(SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=900)
    if proc.returncode == 3:
        pytest.skip(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield state / "slurm.conf"
    subprocess.run([str(SCRIPT), "stop", str(state)], capture_output=True, text=True, timeout=120)


def _run_on_slurm(workdir: Path, slurm_conf: Path) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "fast.yaml").write_text(SNAKEMAKE_FAST)
    (workdir / "test.yaml").write_text(CONFIG)
    cpus, report_cpus = min(NODE, 4), min(NODE, 2)
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--workflow-profile", str(ROOT / "workflow" / "profiles" / "slurm"),
           "--slurm-no-account", "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
           "--slurm-keep-successful-logs",
           "--set-threads", f"cluster={cpus}", f"surrogate={cpus}", f"report={report_cpus}",
           "--set-resources", f"cluster:cpus_per_task={cpus}", f"surrogate:cpus_per_task={cpus}", "surrogate:mem_mb=4000",
           f"report:cpus_per_task={report_cpus}",
           "--configfile", str(workdir / "fast.yaml"), str(workdir / "test.yaml")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLURM_CONF": str(slurm_conf)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)


def test_demo_through_slurm_equals_the_local_run(slurm_conf, tmp_path):
    cluster = _run_on_slurm(tmp_path / "slurm", slurm_conf)
    assert cluster.returncode == 0, cluster.stdout[-3000:] + cluster.stderr[-4000:]
    text = cluster.stdout + cluster.stderr
    assert "has been submitted with SLURM jobid" in text
    slurm_logs = list((tmp_path / "slurm" / ".snakemake" / "slurm_logs").rglob("*.log"))
    rules = {part.removeprefix("rule_") for p in slurm_logs for part in p.parts if part.startswith("rule_")}
    assert {"ingest", "features", "cluster", "surrogate", "report"} <= rules  # every stage ran as a SLURM job

    (tmp_path / "local").mkdir()
    local = run_snakemake(tmp_path / "local", CONFIG)
    assert local.returncode == 0, local.stderr[-3000:]
    a, b = tmp_path / "slurm" / "results", tmp_path / "local" / "results"
    for rel in ("clusters/assignments.csv", "clusters/channel_stats.csv", "report/channels.csv", "qc/qc.csv"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    pd.testing.assert_frame_equal(pd.read_parquet(a / "qc/trajectories.parquet"), pd.read_parquet(b / "qc/trajectories.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(a / "features/events.parquet"), pd.read_parquet(b / "features/events.parquet"))
    assert (a / "report/report.html").is_file()
