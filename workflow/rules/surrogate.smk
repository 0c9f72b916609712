rule surrogate:
    input:
        stores=batch_stores(),
        trajectories="results/ingest/trajectories.parquet",
    output:
        metrics="results/surrogate/metrics.json",
        model=directory("results/surrogate/model"),
    params:
        surrogate=config["surrogate"],
        seed=config["seed"],
    log:
        "logs/surrogate.log",
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/surrogate.py"
