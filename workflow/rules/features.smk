rule features:
    input:
        store="results/ingest/batches/{batch}.npz",
        trajectories="results/qc/trajectories.parquet",
        topology="results/features/topology.json",
        symmetry="results/features/event_symmetry.csv",
    output:
        events="results/features/events/{batch}.parquet",
        frames="results/features/frames/{batch}.parquet",
    params:
        families=config["features"]["families"],
        event=config["features"]["event"],
        hop_select=config["features"]["hop_select"],
        event_window_fs=config["features"]["event_window_fs"],
        frame_stride=config["features"]["frame_stride"],
    priority: CHANNEL_PRIORITY  # ahead of the surrogate when both are ready (see common.smk)
    log:
        "logs/features/{batch}.log",
    benchmark:
        "logs/benchmarks/features/{batch}.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/features.py"


rule merge_events:
    input:
        events=expand("results/features/events/{batch}.parquet", batch=BATCHES),
    output:
        events="results/features/events.parquet",
    priority: CHANNEL_PRIORITY  # ahead of the surrogate when both are ready (see common.smk)
    log:
        "logs/features/merge_events.log",
    benchmark:
        "logs/benchmarks/features/merge_events.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/merge_events.py"
