from pathlib import Path

from analysis.demo import generate_demo
from analysis.runlog import setup

setup(snakemake.log[0])
p = snakemake.params
generate_demo(Path(snakemake.output.ensemble).parent, n_trajectories=p.n_trajectories, seed=p.seed,
              t_max_fs=p.t_max_fs, dt_fs=p.dt_fs, broken_fraction=p.broken_fraction, cascade=p.cascade)
