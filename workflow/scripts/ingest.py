from analysis.ingest import ingest_batch
from analysis.runlog import setup

setup(snakemake.log[0])
p = snakemake.params
ingest_batch(p.root, snakemake.output.store, snakemake.output.table, batch=int(snakemake.wildcards.batch),
             n_batches=p.n_batches, fmt=p.fmt, pattern=p.pattern, on_error=p.on_error)
