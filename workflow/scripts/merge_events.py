from analysis.features.stage import merge_tables
from analysis.runlog import setup

setup(snakemake.log[0])
merge_tables(snakemake.input.events, snakemake.output.events)
