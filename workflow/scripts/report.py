from pathlib import Path

from analysis.report.build import build_report
from analysis.runlog import setup

setup(snakemake.log[0])
i = snakemake.input
build_report(i.trajectories, i.qc, i.assignments, i.events, list(i.frames), i.scores, i.pca, i.topology, i.metrics,
             i.model, i.stores, Path(snakemake.output.html).parent, config_summary=dict(snakemake.params.config_summary),
             stats_csv=i.stats, formation_csv=i.formation, next_csv=i.next_calculations,
             manifest_paths=list(i.manifests), n_jobs=snakemake.threads)
