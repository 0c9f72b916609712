from analysis.runlog import setup
from analysis.surrogate.active import write_candidates
from analysis.surrogate.train import train_surrogate

setup(snakemake.log[0])
params = dict(snakemake.params.surrogate)
n_next = params.pop("next_calculations")
train_surrogate(snakemake.input.stores, snakemake.input.trajectories, snakemake.output.metrics, snakemake.output.model,
                params=params, frame_stride=params.pop("frame_stride"), max_frames=params.pop("max_frames"),
                random_state=snakemake.params.seed, n_jobs=snakemake.threads,
                topology_json=snakemake.input.topology)
write_candidates(snakemake.output.model, snakemake.input.stores, snakemake.input.trajectories, snakemake.output.candidates,
                 n=n_next, random_state=snakemake.params.seed)
