from analysis.qc import run_qc
from analysis.runlog import setup

setup(snakemake.log[0])
run_qc(snakemake.input.stores, snakemake.input.tables, snakemake.output.qc, snakemake.output.trajectories,
       thresholds=dict(snakemake.params.thresholds), policy=snakemake.params.policy)
