from analysis.runlog import setup
from analysis.surrogate.train import train_surrogate

setup(snakemake.log[0])
params = dict(snakemake.params.surrogate)
train_surrogate(snakemake.input.stores, snakemake.input.trajectories, snakemake.output.metrics, snakemake.output.model,
                params=params, frame_stride=params.pop("frame_stride"), max_frames=params.pop("max_frames"),
                random_state=snakemake.params.seed, n_jobs=snakemake.threads,
                topology_json=snakemake.input.topology)
