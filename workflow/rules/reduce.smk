rule reduce:
    input:
        events="results/features/events.parquet",
    output:
        scores="results/reduce/scores.parquet",
        loadings="results/reduce/loadings.csv",
        summary="results/reduce/pca.json",
    params:
        n_components=config["reduce"]["n_components"],
        max_components=config["reduce"]["max_components"],
        min_events=config["reduce"]["min_events"],
        scaling=config["reduce"]["scaling"],
    log:
        "logs/reduce.log",
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/reduce.py"
