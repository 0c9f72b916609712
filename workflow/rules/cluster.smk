rule cluster:
    input:
        scores="results/reduce/scores.parquet",
        events="results/features/events.parquet",
        pca="results/reduce/pca.json",
        loadings="results/reduce/loadings.csv",
        frames=expand("results/features/frames/{batch}.parquet", batch=BATCHES),
    output:
        assignments="results/clusters/assignments.csv",
        stats="results/clusters/channel_stats.csv",
        formation="results/clusters/formation.csv",
    threads: CLUSTER_THREADS  # bootstrap resamples in parallel on a large ensemble; capped at --cores locally
    params:
        cluster=config["cluster"],
        seed=config["seed"],
    priority: CHANNEL_PRIORITY  # ahead of the surrogate when both are ready (see common.smk)
    log:
        "logs/cluster.log",
    benchmark:
        "logs/benchmarks/cluster.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/cluster.py"

