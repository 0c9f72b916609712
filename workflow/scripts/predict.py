from analysis.runlog import setup
from analysis.surrogate.predict import predict_xyz

setup(snakemake.log[0])
predict_xyz(snakemake.input.model, snakemake.input.xyz, snakemake.output.csv)
