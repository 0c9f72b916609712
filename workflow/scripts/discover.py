from analysis.io.discover import batch_manifest, write_manifest
from analysis.runlog import setup

setup(snakemake.log[0])
p = snakemake.params
write_manifest(batch_manifest(p.root, p.pattern, p.fmt, p.n_batches, int(snakemake.wildcards.batch)),
               snakemake.output.manifest)
