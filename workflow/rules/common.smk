# Input functions, batching and config checks that need the file system. No rules here.
import functools
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from analysis.io.digest import manifest_digest
from analysis.io.discover import auto_batches, batch_of, discover, manifest
from analysis.io.xyz import is_xyz_file
from analysis.workload import PARALLEL_MIN_WORK, one_thread_per_process, surrogate_frames, surrogate_processes

one_thread_per_process(os.environ)  # one BLAS / OpenMP thread in every job's process (see analysis/workload.py)

DEMO = config["input"]["root"] == "demo"
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")  # what users pack finished runs into

if DEMO:
    FOUND = []
else:
    _root, _pattern = config["input"]["root"], config["input"]["pattern"]
    if not Path(_root).is_dir() and not is_xyz_file(_root):
        raise WorkflowError(
            f"config key input.root: {_root!r} is neither a directory nor a multi-frame .xyz file "
            "(give a folder holding one folder per trajectory, one trajectory's folder or XYZ file, or 'demo')"
            + ("" if Path(_root).exists() else "; it does not exist")
            + (": an archive; unpack it first (tar xf / unzip) and give the folder"
               if Path(_root).name.lower().endswith(ARCHIVE_SUFFIXES) else "")
        )
    # Discovered once per invocation (stat calls only); the manifest digest of each batch is a param of its
    # ingest job, so adding, removing or changing a trajectory re-runs exactly that batch.
    FOUND = discover(_root, _pattern, config["input"]["format"])
    if not FOUND:
        _archives = sorted(p.name for p in Path(_root).glob("*") if p.name.lower().endswith(ARCHIVE_SUFFIXES))
        raise WorkflowError(
            f"no trajectory folders under {_root} matching input.pattern {_pattern!r} "
            "(input.root holds one folder per trajectory, runs of such folders, one multi-frame *.xyz file per "
            "trajectory, or is one trajectory folder)"
            + (f"; it holds {len(_archives)} archive(s) ({', '.join(_archives[:3])}{' …' if len(_archives) > 3 else ''}): "
               "unpack them first" if _archives else "")
        )


N_BATCHES = config["ingest"]["n_batches"]
if N_BATCHES == "auto":
    N_BATCHES = auto_batches(len(FOUND), config["ingest"]["batch_trajectories"])
BATCHES = [f"{i:03d}" for i in range(N_BATCHES)]

# The surrogate's worker processes pay off on a large ensemble with many MLP fits to make (every candidate in every
# CV fold, then the ensemble members); otherwise its second core serves the channel jobs that run beside it better
# (a two-trajectory Newton-X set on 2 cores: 28.3 s end to end with 2, 21.3 s with 1; the surrogate job itself
# 8.4 s and 8.1 s. bench/pipeline.py's 2,000 trajectories with a one-candidate, two-member surrogate: the job 6.8 s
# alone with 2, 8.3 s beside the features with 1, peak RSS 742 vs 374 MB). The channel jobs go first (priority):
# the one-thread surrogate then runs beside the single-threaded cluster job instead of ahead of the features.
# "Large" is 100 trajectories, or more training frames than surrogate.cv_max_frames once QC has counted them
# (analysis.workload.surrogate_processes): 40 azobenzene runs of 301 frames took 77.8 s in one process.
SURROGATE_MLP_FITS = (config["surrogate"]["cv_folds"] * len(config["surrogate"]["mlp_grid"])
                      + config["surrogate"]["n_members"])
SURROGATE_THREADS = 2 if (DEMO or len(FOUND) >= 100) and SURROGATE_MLP_FITS >= 8 else 1


@functools.lru_cache(maxsize=4)
def _surrogate_frames(path, mtime_ns):
    return surrogate_frames(path, config["surrogate"]["frame_stride"], config["surrogate"]["max_frames"])


def surrogate_threads(wildcards, input):
    """The surrogate job's processes: SURROGATE_THREADS, or two where QC's trajectory table (there when Snakemake
    schedules the job; not in a dry run) counts more frames than cross-validation subsamples."""
    table = Path(input.trajectories)
    if SURROGATE_THREADS > 1 or not table.exists():
        return SURROGATE_THREADS
    n_frames = _surrogate_frames(str(table), table.stat().st_mtime_ns)
    return surrogate_processes(n_frames, config["surrogate"]["cv_max_frames"], many_fits=SURROGATE_MLP_FITS >= 8)


CHANNEL_PRIORITY = 10
# The bootstrap of channel stability runs in worker processes only from PARALLEL_MIN_WORK events x resamples on
# (analysis/stability.py); below, the cluster job uses one core and leaves the other to the jobs beside it.
N_EVENTS_AT_MOST = config["demo"]["n_trajectories"] if DEMO else len(FOUND)  # one event per trajectory and transition
CLUSTER_THREADS = 4 if N_EVENTS_AT_MOST * config["cluster"]["bootstrap"] >= PARALLEL_MIN_WORK else 1


wildcard_constraints:
    batch=r"\d{3}",


def ensemble_root():
    return "results/demo/ensemble" if DEMO else config["input"]["root"]


def discover_inputs(wildcards):
    return {"ensemble": "results/demo/ensemble"} if DEMO else {}


def batch_manifest_digest(wildcards):
    """Digest of the files (size, mtime) of this batch's trajectories; 'demo' for the generated demo."""
    if DEMO:
        return "demo"
    n = len(BATCHES)
    return manifest_digest(manifest([f for f in FOUND if batch_of(f.trajectory_id, n) == int(wildcards.batch)]))


def batch_stores():
    return expand("results/ingest/batches/{batch}.npz", batch=BATCHES)


def batch_tables():
    return expand("results/ingest/batches/{batch}.csv", batch=BATCHES)


def print_run_summary():
    """Last lines of a successful run: where the report is, and the warnings of the jobs again."""
    html_path = Path("results/report/report.html")
    warnings = Path("results/report/warnings.txt")
    text = warnings.read_text(encoding="utf-8").rstrip() if warnings.is_file() else ""
    if text:
        encoding = sys.stdout.encoding or "utf-8"  # a terminal without UTF-8 gets S1\u2192S0, not a failed run
        print(f"\nhopscope warnings (details in the report):\n{text.encode(encoding, 'backslashreplace').decode(encoding)}")
    if html_path.is_file():
        print(f"\nhopscope report: {html_path.resolve()}")
