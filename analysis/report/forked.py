"""The report's drawing work in forked processes, beside the rest of the report.

The figures and molecule drawings are pure (their inputs → PNG bytes) and about half the report's time on a large
ensemble (2,000 trajectories: 3.9 of 11.7 s, and the surrogate section 1.3 s more). A *forked* child inherits
the inputs already in memory, so only the PNG bytes cross back (pickling the time-resolved frames to a fresh
worker would cost more than drawing them, and a fresh worker pays the imports again). Where ``fork`` is not
available, or a process cannot be started, the work runs here, one call after another.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)


class Deferred:
    """A call to make later: ``Deferred(f, *args, **kwargs)()`` is ``f(*args, **kwargs)``."""

    def __init__(self, function, *args, **kwargs):
        self.function, self.args, self.kwargs = function, args, kwargs

    def __call__(self):
        return self.function(*self.args, **self.kwargs)


def fork_available() -> bool:
    """Whether the drawing work may fork: on Linux only (Windows cannot; on macOS a forked child of a process that
    loaded system frameworks may crash, which is why Python's default there is ``spawn``)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


_PENDING: list[Deferred] = []  # what the forked pool workers run (inherited, never pickled)


def _run_pending(index: int):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # two processes on two cores: one BLAS thread each
        return _PENDING[index]()


def resolve(calls: dict, n_jobs: int = 1) -> dict:
    """Key → result of every :class:`Deferred` of ``calls``, in ``n_jobs`` forked processes when there are more
    than one and more than one call (give the slowest first: they are handed out in order), else here. A pool that
    cannot start or loses a worker (killed, out of memory) leaves all the calls to this process (warning); a call's
    own error is raised."""
    keys, pending = list(calls), list(calls.values())
    if n_jobs > 1 and len(pending) > 1 and fork_available():
        global _PENDING
        _PENDING = pending
        try:
            with ProcessPoolExecutor(min(n_jobs, len(pending)), mp_context=multiprocessing.get_context("fork")) as pool:
                return dict(zip(keys, pool.map(_run_pending, range(len(pending)))))
        except (OSError, BrokenProcessPool) as exc:
            log.warning("forked drawing processes failed (%s: %s); drawing the %d figures here", type(exc).__name__, exc,
                        len(pending))
        finally:
            _PENDING = []
    return {key: call() for key, call in zip(keys, pending)}


class Background:
    """One :class:`Deferred` started now in a forked child (when ``enabled`` and fork is available), its result
    collected by :meth:`result`; otherwise it runs in :meth:`result`. An error in the call is raised there, as if
    it had run here (its traceback in the child is logged)."""

    def __init__(self, call: Deferred, enabled: bool = True):
        self.call, self.process, self.receiver = call, None, None
        if enabled and fork_available():
            try:
                ctx = multiprocessing.get_context("fork")
                self.receiver, sender = ctx.Pipe(duplex=False)
                self.process = ctx.Process(target=self._child, args=(sender,), daemon=True)
                self.process.start()
                sender.close()
            except OSError as exc:
                log.warning("could not fork a process for %s (%s); it runs here", getattr(call.function, "__name__", "a call"), exc)
                self.process = None

    def _child(self, sender) -> None:
        from threadpoolctl import threadpool_limits

        try:
            with threadpool_limits(limits=1):
                outcome = ("ok", self.call(), "")
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            outcome = ("error", exc, traceback.format_exc())
        try:
            sender.send(outcome)
        except Exception as exc:  # noqa: BLE001 - an exception (or result) that does not pickle
            sender.send(("error", RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]} (not passed back: {exc})"), outcome[2]))
        sender.close()

    def result(self):
        """The call's result (waiting for the child); raises what the call raised."""
        if self.process is None:
            return self.call()
        try:
            status, value, child_traceback = self.receiver.recv()
        except EOFError:  # the child died without an answer (killed, out of memory): do the work here
            self.process.join()
            log.warning("the forked process for %s ended without a result (exit code %s); it runs here",
                        getattr(self.call.function, "__name__", "a call"), self.process.exitcode)
            return self.call()
        self.process.join()
        if status == "error":
            log.error("%s failed in its forked process:\n%s", getattr(self.call.function, "__name__", "a call"), child_traceback)
            raise value
        return value
