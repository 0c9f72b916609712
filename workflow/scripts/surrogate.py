from analysis.runlog import setup
from analysis.surrogate.train import train_surrogate

setup(snakemake.log[0])
s = dict(snakemake.params.surrogate)
train_surrogate(snakemake.input.stores, snakemake.input.trajectories, snakemake.output.metrics, snakemake.output.model,
                descriptor=s["descriptor"], hidden_layer_sizes=tuple(s["hidden_layer_sizes"]), max_iter=s["max_iter"],
                frame_stride=s["frame_stride"], max_frames=s["max_frames"], test_fraction=s["test_fraction"],
                random_state=snakemake.params.seed)
