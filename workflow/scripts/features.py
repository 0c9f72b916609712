from analysis.features.stage import featurize_batch
from analysis.runlog import setup

setup(snakemake.log[0])
p = snakemake.params
featurize_batch(snakemake.input.store, snakemake.input.trajectories, snakemake.input.topology,
                snakemake.output.events, snakemake.output.frames, families=list(p.families), event=p.event,
                hop_select=p.hop_select, frame_stride=p.frame_stride,
                symmetry_csv=snakemake.input.symmetry, event_window_fs=p.event_window_fs)
