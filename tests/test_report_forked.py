"""The report's drawing work in forked processes (analysis/report/forked.py): same results as in this process,
really in another process, and an error or a lost child never costs a result."""

from __future__ import annotations

import os

import pytest

from analysis.report.forked import Background, Deferred, fork_available, resolve

needs_fork = pytest.mark.skipif(not fork_available(), reason="the report forks only on Linux (see fork_available)")


def _pid_and(value, scale=1):
    return os.getpid(), value * scale


def _fail(message):
    raise ValueError(message)


def _exit_in_a_child(parent_pid, value):
    if os.getpid() != parent_pid:
        os._exit(3)  # a child that dies without an answer (killed, out of memory)
    return value


def test_deferred_call_is_the_call():
    assert Deferred(_pid_and, 2, scale=5)() == (os.getpid(), 10)


@needs_fork
def test_resolve_in_forked_processes_gives_every_result_under_its_key():
    calls = {("figures", f"k{i}"): Deferred(_pid_and, i, scale=3) for i in range(7)}
    here = resolve(calls, n_jobs=1)
    forked = resolve(calls, n_jobs=2)
    assert list(forked) == list(calls) == list(here)
    assert [v for _, v in forked.values()] == [v for _, v in here.values()] == [3 * i for i in range(7)]
    assert {pid for pid, _ in here.values()} == {os.getpid()}
    assert os.getpid() not in {pid for pid, _ in forked.values()}


def test_resolve_of_one_call_or_none_runs_here():
    assert resolve({}, n_jobs=2) == {}
    assert resolve({"a": Deferred(_pid_and, 1)}, n_jobs=2) == {"a": (os.getpid(), 1)}


@needs_fork
def test_a_drawing_process_that_dies_leaves_the_calls_to_this_process(caplog):
    calls = {k: Deferred(_exit_in_a_child, os.getpid(), k) for k in range(4)}
    assert resolve(calls, n_jobs=2) == {k: k for k in range(4)}
    assert "forked drawing processes failed (BrokenProcessPool" in caplog.text


@needs_fork
def test_resolve_raises_the_error_of_a_call():
    with pytest.raises(ValueError, match="planted"):
        resolve({"a": Deferred(_pid_and, 1), "b": Deferred(_fail, "planted")}, n_jobs=2)


@needs_fork
def test_background_runs_in_a_child_and_returns_its_result():
    job = Background(Deferred(_pid_and, 4, scale=2))
    pid, value = job.result()
    assert value == 8 and pid != os.getpid()
    assert Background(Deferred(_pid_and, 4), enabled=False).result() == (os.getpid(), 4)


@needs_fork
def test_background_raises_the_error_of_its_call_with_its_type():
    job = Background(Deferred(_fail, "planted failure"))
    with pytest.raises(ValueError, match="planted failure"):
        job.result()


@needs_fork
def test_a_child_that_dies_without_an_answer_leaves_the_work_to_this_process(caplog):
    job = Background(Deferred(_exit_in_a_child, os.getpid(), "done"))
    assert job.result() == "done"
    assert "ended without a result (exit code 3)" in caplog.text


def test_without_fork_everything_runs_here(monkeypatch):
    from analysis.report import forked

    monkeypatch.setattr(forked, "fork_available", lambda: False)
    calls = {k: Deferred(_pid_and, k) for k in range(3)}
    assert resolve(calls, n_jobs=2) == {k: (os.getpid(), k) for k in range(3)}
    job = Background(Deferred(_pid_and, 5))
    assert job.process is None and job.result() == (os.getpid(), 5)
