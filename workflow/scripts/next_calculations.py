from pathlib import Path

from analysis.runlog import setup
from analysis.surrogate.active import write_next_calculations

setup(snakemake.log[0])
write_next_calculations(snakemake.input.candidates, snakemake.input.stores, snakemake.input.assignments,
                        Path(snakemake.output.index).parent, n=snakemake.params.n)
