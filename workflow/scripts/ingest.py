from analysis.ingest import ingest_batch
from analysis.runlog import setup

setup(snakemake.log[0])
ingest_batch(None, snakemake.output.store, snakemake.output.table, batch=int(snakemake.wildcards.batch),
             manifest=snakemake.input.manifest, on_error=snakemake.params.on_error)
