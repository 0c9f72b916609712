"""Process and thread counts of the workflow's jobs."""

from __future__ import annotations

from analysis.workload import THREAD_VARIABLES, one_thread_per_process


def test_every_job_computes_with_one_blas_thread_unless_the_user_said_otherwise():
    environ = {"OPENBLAS_NUM_THREADS": "4", "PATH": "/usr/bin"}
    set_here = one_thread_per_process(environ)
    assert environ["OPENBLAS_NUM_THREADS"] == "4"  # the user's value stays
    assert set(set_here) == set(THREAD_VARIABLES) - {"OPENBLAS_NUM_THREADS"}
    assert all(environ[name] == "1" for name in set_here)
    assert environ["PATH"] == "/usr/bin"
    assert one_thread_per_process(environ) == []  # a second call changes nothing


def test_the_workflow_sets_them_for_its_script_jobs():
    """Snakemake sets these variables for shell: jobs only; the workflow must set them where its script jobs inherit
    them (the Snakemake process's environment, while the Snakefile is read)."""
    from tests.conftest import ROOT

    common = (ROOT / "workflow" / "rules" / "common.smk").read_text(encoding="utf-8")
    assert "one_thread_per_process(os.environ)" in common


def _qc_table(path, rows, column="n_frames_used"):
    import pandas as pd

    pd.DataFrame(rows, columns=["trajectory_id", "status", column]).to_parquet(path)
    return path


def test_the_surrogate_is_given_every_strided_usable_frame_of_the_kept_trajectories_up_to_the_cap(tmp_path):
    from analysis.workload import surrogate_frames

    table = _qc_table(tmp_path / "t.parquet", [("T1", "ok", 301), ("T2", "ok", 100), ("T3", "excluded", 5000), ("T4", "ok", 1)])
    assert surrogate_frames(table, 1, 20_000) == 402  # the excluded run does not count
    assert surrogate_frames(table, 4, 20_000) == 76 + 25 + 1  # frames 0, 4, 8, ...: ceil(n / 4)
    assert surrogate_frames(table, 1, 300) == 300
    # a table written before QC recorded truncation: its frame counts
    old = _qc_table(tmp_path / "old.parquet", [("T1", "ok", 30), ("T2", "ok", 12)], column="n_frames")
    assert surrogate_frames(old, 1, 20_000) == 42


def test_the_surrogate_runs_in_two_processes_only_with_more_frames_than_cross_validation_takes():
    from analysis.workload import surrogate_processes

    assert surrogate_processes(3001, 3000, many_fits=True) == 2
    assert surrogate_processes(3000, 3000, many_fits=True) == 1
    assert surrogate_processes(20_000, 3000, many_fits=False) == 1  # a one-candidate, few-member grid: nothing to share


def test_the_workflow_sizes_the_surrogate_job_from_the_qc_table():
    from tests.conftest import ROOT

    rule = (ROOT / "workflow" / "rules" / "surrogate.smk").read_text(encoding="utf-8")
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text(encoding="utf-8")
    assert "threads: surrogate_threads" in rule
    assert "surrogate_processes(" in common and "input.trajectories" in common
