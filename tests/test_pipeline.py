"""The real snakemake on a tiny demo, and config errors that stop the run before any job."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(workdir, config_text, *extra):
    from tests.conftest import run_snakemake as run

    return run(workdir, config_text, *extra, fast=False)


TINY = """
input: {root: demo}
demo: {n_trajectories: 20, broken_fraction: 0.1}
ingest: {n_batches: 2}
cluster: {min_cluster_size: 2}
surrogate: {n_members: 2, mlp_grid: [{hidden_layer_sizes: [32]}], krr_grid: {kernel: [gaussian], length_scale_factor: [2.0], alpha: [1.0e-5]},
            cv_max_frames: 1000, learning_curve: false}
"""


@pytest.mark.slow
def test_pipeline_on_tiny_demo_writes_consistent_outputs(tmp_path):
    proc = run_snakemake(tmp_path, TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = tmp_path / "results"
    for rel in ("qc/trajectories.parquet", "qc/qc.csv", "features/events.parquet", "clusters/assignments.csv",
                "report/report.html", "report/channels.csv", "report/channels.md", "surrogate/metrics.json",
                "surrogate/model/model.json", "surrogate/next_calculations/index.csv"):
        assert (r / rel).is_file(), rel
    assert list((r / "features" / "frames").glob("*.parquet"))
    table = pd.read_parquet(r / "qc/trajectories.parquet")
    truth = pd.read_csv(r / "demo/truth.csv", keep_default_na=False, na_values={"broken_at_fs": [""], "hop_time_fs": [""]})
    assert len(table) == 20
    # qc.policy truncate (the default): a crashed run (too short) is excluded; one whose energies jump is kept up
    # to the planted jump, exactly
    crashed = truth[truth.broken == "truncated"]
    jumped = truth[truth.broken == "energy_jump"].merge(table, on="trajectory_id")
    assert len(crashed) and len(jumped)
    assert set(table.loc[table.status == "excluded", "trajectory_id"]) == set(crashed.trajectory_id)
    assert (jumped.status == "ok").all() and (jumped.n_frames_used == jumped.broken_at_fs / 0.5).all()
    assert all(f"frames from {t:.2f} fs on dropped" in r for t, r in zip(jumped.broken_at_fs, jumped.reason))
    assign = pd.read_csv(r / "clusters/assignments.csv")
    ok = set(table.loc[table.status == "ok", "trajectory_id"])
    # every ok demo trajectory has exactly one S1→S0 event, unless QC cut it before its hop
    cut_before_hop = set(truth.loc[truth.hop_time_fs >= truth.broken_at_fs, "trajectory_id"])
    assert sorted(assign.trajectory_id) == sorted(ok - cut_before_hop)
    assert set(assign.transition) == {"S1→S0"}
    channels = pd.read_csv(r / "report/channels.csv")
    assert channels["percent"].sum() == pytest.approx(100.0, abs=0.05)
    assert channels["n_events"].sum() == len(ok - cut_before_hop)
    html = (r / "report/report.html").read_text()
    assert "data:image/png;base64," in html and "src=\"http" not in html  # self-contained
    for log in ("logs/qc.log", "logs/cluster.log", "logs/report.log"):
        assert (tmp_path / log).is_file()
    stats = pd.read_csv(r / "clusters/channel_stats.csv")
    assert set(stats.channel) == set(channels.loc[channels.resolved, "channel"]) and (stats.n_bootstrap == 100).all()
    assert (r / "clusters/formation.csv").is_file()
    # every XYZ the run writes (channel geometries, next calculations) reads back with this project's own reader:
    # their comments named 'S1→S0' and '±' and were refused as non-ASCII
    from analysis.io.text import read_xyz_frames

    written = sorted(r.glob("report/geometries/**/*.xyz")) + sorted(r.glob("surrogate/next_calculations/*.xyz"))
    assert len(written) >= 4
    for path in written:
        assert read_xyz_frames(path)["coords_angstrom"].shape[1] == 13
    # reproducible: the same inputs and config give byte-identical channels (seeded resamples and nulls)
    before = {f: (r / f).read_bytes() for f in ("clusters/assignments.csv", "clusters/channel_stats.csv", "report/channels.csv")}
    proc = run_snakemake(tmp_path, TINY, "--forcerun", "cluster")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cluster" in proc.stderr and all((r / f).read_bytes() == b for f, b in before.items())

    # ... however the ensemble is batched: batches are hash-assigned, and 'the first trajectory' in store order (the
    # topology's reference geometry, the symmetry choice's and the surrogate's frame order) changed with their number
    one = tmp_path / "one_batch"
    one.mkdir()
    proc = run_snakemake(one, TINY.replace("n_batches: 2", "n_batches: 1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in ("features/topology.json", "features/event_symmetry.csv", "clusters/assignments.csv", "clusters/channel_stats.csv",
              "report/channels.csv", "report/products.csv", "surrogate/next_calculations/index.csv"):
        assert (one / "results" / f).read_bytes() == (r / f).read_bytes(), f
    import json

    def metrics(root):
        m = json.loads((root / "surrogate/metrics.json").read_text())
        return {k: ({name: {kk: vv for kk, vv in v.items() if kk != "fit_seconds"} for name, v in m[k].items()} if k == "models" else v)
                for k, v in m.items() if k != "train_seconds"}

    assert metrics(one / "results") == metrics(r)


@pytest.mark.parametrize(
    "config_text, key",
    [
        ("input: {root: demo}\nbogus_key: 1\n", "bogus_key"),
        ("input: {root: demo}\ningest: {n_batches: many}\n", "n_batches"),
        ("input: {root: /nonexistent/trajectories}\n", "input.root"),
        ("input: {root: demo, formt: auto}\n", "formt"),
    ],
)
def test_config_errors_stop_before_any_job(tmp_path, config_text, key):
    proc = run_snakemake(tmp_path, config_text, "-n")
    assert proc.returncode != 0
    assert key in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_lint_is_clean(tmp_path):
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--lint"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0
    assert "Congratulations" in proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_pipeline_on_real_sharc_ensemble(tmp_path):
    """Real SHARC v4 CH2NH2+ (no output.dat: no per-state energies): ingest, QC (kept), features, report run;
    the surrogate is skipped with its reason in the report."""
    from tests.conftest import shared

    root = shared("sharc", "ch2nh2_sharc4.0")
    proc = run_snakemake(tmp_path, f"""
input: {{root: {root}}}
ingest: {{n_batches: 1}}
qc: {{policy: keep}}
features: {{event: final_frame}}
cluster: {{min_cluster_size: 2}}
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet")
    assert list(table.trajectory_id) == ["TRAJ_00001", "TRAJ_00006", "TRAJ_00007"] and set(table.format) == {"sharc"}
    qc = pd.read_csv(tmp_path / "results/qc/qc.csv")
    assert (qc.etot_drift_ev > 0.2).all()  # these runs use nogradcorrect: SHARC's own diagnostics flag them too
    html = (tmp_path / "results/report/report.html").read_text()
    assert "Not trained: none of the 3 analysed trajectories has per-state energies to train on (SHARC writes them to output.dat only" in html
