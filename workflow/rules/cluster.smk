rule cluster:
    input:
        scores="results/reduce/scores.parquet",
        events="results/features/events.parquet",
    output:
        assignments="results/clusters/assignments.csv",
    params:
        cluster=config["cluster"],
        seed=config["seed"],
    log:
        "logs/cluster.log",
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/cluster.py"
