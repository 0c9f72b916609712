rule reduce:
    input:
        events="results/features/events.parquet",
        frames=expand("results/features/frames/{batch}.parquet", batch=BATCHES),
    output:
        scores="results/reduce/scores.parquet",
        loadings="results/reduce/loadings.csv",
        summary="results/reduce/pca.json",
    params:
        n_components=config["reduce"]["n_components"],
        max_components=config["reduce"]["max_components"],
        min_events=config["reduce"]["min_events"],
        scaling=config["reduce"]["scaling"],
    priority: CHANNEL_PRIORITY  # ahead of the surrogate when both are ready (see common.smk)
    log:
        "logs/reduce.log",
    benchmark:
        "logs/benchmarks/reduce.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/reduce.py"
