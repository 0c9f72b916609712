"""End-to-end benchmark: the whole pipeline on a generated Newton-X ensemble, stage by stage.

    python bench/pipeline.py                          # 1,000 trajectories x 1,000 steps
    python bench/pipeline.py --trajectories 200 --steps 500
    python bench/pipeline.py --scaling 250 500 1000 2000   # one end-to-end line per size

The ensemble is cached under ``bench/.cache/`` (git-ignored): 50 distinct demo trajectories (13 atoms, Newton-X
text files, ~2 kB per step) hard-linked as many times as asked, so a large ensemble costs disk blocks once and
seconds to lay out. Every rule of the workflow writes a Snakemake ``benchmark:`` file (wall time, peak RSS);
the table sums them per stage. Frames/s = trajectories × (steps + 1) / the stage's summed wall time. Memory per job is
Snakemake's sum over the job's processes: RSS counts pages shared by forked processes (the report's drawing
processes) once per process, PSS (proportional set size) divides them among the processes sharing them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"
DT_FS = 0.5
DISTINCT = 50
# the surrogate and the bootstrap are not what scales with the ensemble: kept small so the table is about the
# pipeline (the surrogate has its own benchmark, bench/surrogate.py)
CONFIG = """
ingest: {{n_batches: {batches}}}
qc: {{exclude_copies: false}}  # the ensemble is 50 distinct runs hard-linked many times: every one is analysed
surrogate: {{n_members: 2, mlp_grid: [{{hidden_layer_sizes: [32]}}], krr_grid: {{kernel: [gaussian], length_scale_factor: [2.0],
            alpha: [1.0e-5]}}, cv_max_frames: 1000, krr_max_frames: 2000, max_frames: 5000, learning_curve: false}}
cluster: {{bootstrap: 20}}
"""


def ensemble(n_trajectories: int, steps: int) -> Path:
    """``n_trajectories`` folders TRAJ1… of ``steps`` + 1 frames (cached)."""
    from analysis.demo import generate_demo

    base = CACHE / f"distinct_{DISTINCT}x{steps}"
    if not (base / "ensemble").is_dir():
        print(f"generating {DISTINCT} distinct trajectories of {steps} steps ...", flush=True)
        generate_demo(base, n_trajectories=DISTINCT, seed=11, t_max_fs=steps * DT_FS, dt_fs=DT_FS, broken_fraction=0.0)
    out = CACHE / f"ensemble_{n_trajectories}x{steps}"
    if not out.is_dir():
        tmp = out.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for k in range(n_trajectories):
            src = base / "ensemble" / f"TRAJ{k % DISTINCT + 1}"
            for path in src.rglob("*"):
                dest = tmp / f"TRAJ{k + 1}" / path.relative_to(src)
                if path.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.link(path, dest)
        tmp.rename(out)
    return out


def run(n_trajectories: int, steps: int, batches: int) -> tuple[float, pd.DataFrame]:
    """Wall time of the whole run and the per-job benchmark table."""
    root = ensemble(n_trajectories, steps)
    work = CACHE / f"run_{n_trajectories}x{steps}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "bench.yaml").write_text(f"input: {{root: {root}}}\n" + CONFIG.format(batches=batches))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
           "--quiet", "all", "--configfile", str(ROOT / "config" / "config.yaml"), str(work / "bench.yaml")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"pipeline failed:\n{proc.stderr[-3000:]}")
    rows = []
    for tsv in sorted((work / "logs" / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(tsv, sep="\t")
        stage = tsv.relative_to(work / "logs" / "benchmarks").parts[0].removesuffix(".tsv")
        rows.append({"stage": stage, "s": float(b["s"].iloc[0]), **{f"max_{m}_mb": float(pd.to_numeric(b[f"max_{m}"], errors="coerce").iloc[0])
                                                                     for m in ("rss", "pss")}})
    return wall, pd.DataFrame(rows)


ORDER = ["ingest", "qc", "features", "reduce", "cluster", "surrogate", "next_calculations", "report"]


def stage_table(jobs: pd.DataFrame, frames: int) -> pd.DataFrame:
    g = jobs.groupby("stage").agg(jobs=("s", "size"), wall_s=("s", "sum"), slowest_job_s=("s", "max"), peak_rss_mb=("max_rss_mb", "max"),
                                  peak_pss_mb=("max_pss_mb", "max"))
    g["frames_per_s"] = frames / g["wall_s"]
    return g.reindex([s for s in ORDER if s in g.index] + [s for s in g.index if s not in ORDER])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trajectories", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batches", default="auto", help="ingest.n_batches (auto: max(2, trajectories / 250))")
    parser.add_argument("--scaling", type=int, nargs="*", help="trajectory counts for end-to-end scaling lines")
    args = parser.parse_args()
    frames = args.trajectories * (args.steps + 1)
    wall, jobs = run(args.trajectories, args.steps, args.batches)
    table = stage_table(jobs, frames)
    print(f"\nhopscope end to end: {args.trajectories} trajectories x {args.steps} steps ({frames:,} frames), "
          f"{args.batches} batches, 2 cores")
    print(table.to_string(float_format=lambda v: f"{v:,.1f}"))
    print(f"{'end to end':18s} wall {wall:7.1f} s   {frames / wall:12,.0f} frames/s   peak memory of any job "
          f"{jobs['max_pss_mb'].max():,.0f} MB PSS ({jobs['max_rss_mb'].max():,.0f} MB RSS)")
    print("  (Snakemake sums a job's processes: RSS counts the pages a forked child shares with its parent once per "
          "process, PSS divides them among the sharers, so PSS is the memory the job takes)")
    for n in args.scaling or []:
        w, j = run(n, args.steps, args.batches)
        print(f"scaling {n:5d} x {args.steps}: wall {w:7.1f} s, {n * (args.steps + 1) / w:12,.0f} frames/s, "
              f"peak PSS {j['max_pss_mb'].max():,.0f} MB (RSS {j['max_rss_mb'].max():,.0f} MB)", flush=True)


if __name__ == "__main__":
    main()
