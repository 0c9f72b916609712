"""Independent fits (cross-validation folds, candidate models) spread over worker processes.

Measured on 2 cores: one MLP ensemble trains 20 % faster with one BLAS thread than with two (its matrices
are small: the threads cost more than they give), and two single-threaded fits side by side each run at that
speed. So ``n_jobs`` processes with one BLAS thread each beat one process with ``n_jobs`` threads. Every task
is seeded on its own, so the results do not depend on ``n_jobs``.
"""

from __future__ import annotations

import logging
import sys

from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)


def run_tasks(function, arguments: list[tuple], n_jobs: int = 1) -> list:
    """``[function(*a) for a in arguments]``, in order; in ``n_jobs`` loky processes of one BLAS thread each when
    ``n_jobs`` > 1 and there is more than one task, else here on one BLAS thread. If the pool fails (it cannot
    start, a worker dies), the tasks run here instead and a warning says why; a task's own error then repeats.
    Where the machine has no process-shared semaphores (a read-only or missing ``/dev/shm``, as in some
    containers), joblib cannot start processes at all: the tasks run here, and the log says so once."""
    if n_jobs > 1 and len(arguments) > 1 and not _processes_available():
        log.info("no process-shared semaphores here (joblib runs serially); running the %d fits in this process",
                 len(arguments))
        n_jobs = 1
    if n_jobs > 1 and len(arguments) > 1:
        from joblib import Parallel, delayed, parallel_config

        try:
            with parallel_config(backend="loky", inner_max_num_threads=1):
                return Parallel(n_jobs=min(n_jobs, len(arguments)), initializer=_without_dataframes)(
                    delayed(function)(*a) for a in arguments)
        except Exception as exc:  # noqa: BLE001 - a pool that cannot start or loses a worker must not end the run
            log.warning("worker processes failed (%s: %s); running the %d fits here, one after another",
                        type(exc).__name__, exc, len(arguments))
    with threadpool_limits(limits=1):
        return [function(*a) for a in arguments]


def _without_dataframes() -> None:
    """Worker start: make ``import pandas`` / ``import pyarrow`` fail, so scikit-learn (which imports pandas
    when it is installed, and pandas pyarrow) runs without them. The fits take and return arrays only; the
    two libraries cost each worker about 60 MB, about a sixth of the surrogate job's peak."""
    sys.modules.setdefault("pandas", None)
    sys.modules.setdefault("pyarrow", None)


def _processes_available() -> bool:
    """Whether joblib can start worker processes here (it tests for named semaphores when imported)."""
    from joblib._multiprocessing_helpers import mp

    return mp is not None
