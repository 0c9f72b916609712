from analysis.features.stage import choose_event_symmetries
from analysis.runlog import setup

setup(snakemake.log[0])
choose_event_symmetries(snakemake.input.stores, snakemake.input.trajectories, snakemake.input.topology,
                        snakemake.output.choices, event=snakemake.params.event, hop_select=snakemake.params.hop_select,
                        event_window_fs=snakemake.params.event_window_fs)
