# Input functions, batching and config checks that need the file system. No rules here.
from pathlib import Path

from snakemake.exceptions import WorkflowError

DEMO = config["input"]["root"] == "demo"
if not DEMO and not Path(config["input"]["root"]).is_dir():
    raise WorkflowError(
        f"config key input.root: {config['input']['root']!r} is not a directory "
        "(give a folder holding one folder per trajectory, or 'demo')"
    )

BATCHES = [f"{i:03d}" for i in range(config["ingest"]["n_batches"])]


wildcard_constraints:
    batch=r"\d{3}",


def ensemble_root():
    return "results/demo/ensemble" if DEMO else config["input"]["root"]


def ingest_inputs(wildcards):
    return {"ensemble": "results/demo/ensemble"} if DEMO else {}


def batch_stores():
    return expand("results/ingest/batches/{batch}.npz", batch=BATCHES)


def batch_tables():
    return expand("results/ingest/batches/{batch}.csv", batch=BATCHES)
