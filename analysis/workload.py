"""Work sizes from which a job runs in more than one process, and the one thread each process computes with.

Kept apart from the code that starts the processes so the workflow can size a job's ``threads:`` without importing
the numerical stack (the Snakefile imported :mod:`analysis.stability` for this one number: 1.5 s of every
``snakemake`` start spent importing scikit-learn, SciPy and HDBSCAN).
"""

# events × resamples from which the bootstrap subsets are clustered in worker processes. Measured on 2 cores:
# 1,000 × 100 19.1 s in one process, 18.2 s in two; 2,000 × 20 13.8 s vs 18.2 s; 2,000 × 100 36.2 s vs 26.6 s;
# 5,000 × 100 45.1 s vs 34.7 s (each worker starts cold: imports, and the Gaussian nulls its subsets need computed again).
# Since one set of null samples serves every smallest group (analysis/cluster.py, bench/cluster_scale.py): 2,000 × 100
# 17.7 s vs 14.7 s, 5,000 × 100 24.3 s vs 17.1 s; two processes still win from here on
PARALLEL_MIN_WORK = 200_000

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def one_thread_per_process(environ) -> list[str]:
    """Set each BLAS / OpenMP thread-count variable of :data:`THREAD_VARIABLES` that ``environ`` (``os.environ``: the
    workflow's, which its script jobs inherit) does not set to 1; return the names set. A value the user set is kept.

    The jobs that parallelize do it with processes (the surrogate's fits, the bootstrap, the report's drawings), and
    the others run beside another job, so a thread pool per process only competes for the same cores, and its idle
    threads spin (``sched_yield``, counted as system time) while the machine is busy. Measured: a feature batch beside
    two busy processes took 2.95 s (1.21 s of it system time) with OpenBLAS's default pool, 1.46 s (0.20 s) with
    one thread. Snakemake sets these variables for ``shell:`` jobs only, not for ``script:`` jobs.
    """
    unset = [name for name in THREAD_VARIABLES if name not in environ]
    for name in unset:
        environ[name] = "1"
    return unset


def surrogate_processes(n_frames: int, cv_max_frames: int, many_fits: bool) -> int:
    """Worker processes for the surrogate job (its ``threads:``): two when it has many MLP fits to make
    (``many_fits``: every candidate in every CV fold, then the members) and more than ``cv_max_frames`` frames, else one.

    Up to ``cv_max_frames`` the whole job takes seconds, a second process gains nothing (a two-trajectory Newton-X
    set: 8.4 s with two, 8.1 s with one), and the second core serves the channel jobs beside it better. Beyond, the
    job tunes on a full-size subsample and cross-validates again on all training frames, and two processes pay:
    planted azobenzene, 40 trajectories x 301 frames of 24 atoms, 77.8 s in one process, 45.6 s in two.
    """
    return 2 if many_fits and n_frames > cv_max_frames else 1


def surrogate_frames(trajectories_parquet, frame_stride: int, max_frames: int) -> int:
    """How many frames the surrogate will be given: every ``frame_stride``-th usable frame of each trajectory QC kept
    (``results/qc/trajectories.parquet``), at most ``max_frames``. Read with pyarrow alone (no pandas): the workflow
    calls it when it schedules the job."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = pq.read_schema(trajectories_parquet).names
    column = "n_frames_used" if "n_frames_used" in names else "n_frames"
    table = pq.read_table(trajectories_parquet, columns=["status", column])
    used = pc.filter(table[column], pc.equal(table["status"], "ok")).to_pylist()
    stride = max(1, int(frame_stride))
    return min(int(max_frames), sum(-(-int(n) // stride) for n in used if n is not None))
