from pathlib import Path

from analysis.runlog import setup
from analysis.surrogate.active import run_next_calculations

setup(snakemake.log[0])
run_next_calculations(snakemake.input.model, snakemake.input.stores, snakemake.input.trajectories, snakemake.input.assignments,
                      Path(snakemake.output.index).parent, n=snakemake.params.n, random_state=snakemake.params.seed)
