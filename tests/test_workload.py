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
