from analysis.cluster import run_cluster
from analysis.runlog import setup

setup(snakemake.log[0])
run_cluster(snakemake.input.scores, snakemake.input.events, snakemake.output.assignments,
            params=dict(snakemake.params.cluster))
