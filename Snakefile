# hopscope: surface-hopping ensemble -> channels, motions, report and an MLP surrogate.
# Run: snakemake --cores all [--configfile my.yaml]. Stages live in workflow/rules/, logic in analysis/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/topology.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/reduce.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/surrogate.smk"
include: "workflow/rules/report.smk"


onsuccess:
    print_run_summary()


rule all:
    input:
        "results/qc/trajectories.parquet",
        "results/qc/qc.csv",
        "results/features/events.parquet",
        "results/clusters/assignments.csv",
        "results/surrogate/metrics.json",
        "results/report/report.html",
        "results/report/channels.csv",
        "results/report/channels.md",
        "results/report/warnings.txt",
