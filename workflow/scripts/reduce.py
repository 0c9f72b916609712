from analysis.reduce import run_reduce
from analysis.runlog import setup

setup(snakemake.log[0])
p = snakemake.params
run_reduce(snakemake.input.events, snakemake.output.scores, snakemake.output.loadings, snakemake.output.summary,
           n_components=p.n_components, max_components=p.max_components, min_events=p.min_events, scaling=p.scaling,
           frames_parquets=snakemake.input.frames)
