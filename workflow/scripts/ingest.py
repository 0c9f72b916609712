from analysis.ingest import ingest_batch
from analysis.io.discover import batch_manifest, write_manifest
from analysis.runlog import setup

setup(snakemake.log[0])
p, o = snakemake.params, snakemake.output
write_manifest(batch_manifest(p.root, p.pattern, p.fmt, p.n_batches, int(snakemake.wildcards.batch)), o.manifest)
ingest_batch(None, o.store, o.table, batch=int(snakemake.wildcards.batch), manifest=o.manifest, on_error=p.on_error)
