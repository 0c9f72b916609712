rule qc:
    input:
        stores=batch_stores(),
        tables=batch_tables(),
    output:
        qc="results/qc/qc.csv",
        trajectories="results/qc/trajectories.parquet",
    params:
        policy=config["qc"]["policy"],
        thresholds={k: v for k, v in config["qc"].items() if k != "policy"},
    log:
        "logs/qc.log",
    benchmark:
        "logs/benchmarks/qc.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/qc.py"
