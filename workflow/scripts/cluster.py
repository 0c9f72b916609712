from analysis.cluster import run_cluster
from analysis.runlog import setup

setup(snakemake.log[0])
run_cluster(snakemake.input.scores, snakemake.input.events, snakemake.output.assignments,
            params={**snakemake.params.cluster, "random_state": snakemake.params.seed})
