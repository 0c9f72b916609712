from analysis.channels import run_cluster
from analysis.formation import run_formation
from analysis.runlog import setup

setup(snakemake.log[0])
i, o = snakemake.input, snakemake.output
run_cluster(i.scores, i.events, o.assignments, params={**snakemake.params.cluster, "random_state": snakemake.params.seed,
                                                       "n_jobs": snakemake.threads},
            summary_json=i.pca, stats_csv=o.stats)
run_formation(i.events, list(i.frames), o.assignments, i.loadings, o.formation)
