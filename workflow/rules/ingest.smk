rule ingest:
    input:
        unpack(ingest_inputs),
    output:
        store="results/ingest/batches/{batch}.npz",
        table="results/ingest/batches/{batch}.csv",
    params:
        root=ensemble_root(),
        fmt=config["input"]["format"],
        pattern=config["input"]["pattern"],
        on_error=config["input"]["on_error"],
        n_batches=len(BATCHES),
    log:
        "logs/ingest/{batch}.log",
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/ingest.py"
