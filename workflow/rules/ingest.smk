rule discover:
    input:
        unpack(discover_inputs),
    output:
        manifest="results/ingest/manifest/{batch}.tsv",
    params:
        root=ensemble_root(),
        fmt=config["input"]["format"],
        pattern=config["input"]["pattern"],
        n_batches=len(BATCHES),
        digest=batch_manifest_digest,
    log:
        "logs/ingest/discover_{batch}.log",
    benchmark:
        "logs/benchmarks/ingest/discover_{batch}.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/discover.py"


rule ingest:
    input:
        manifest="results/ingest/manifest/{batch}.tsv",
    output:
        store="results/ingest/batches/{batch}.npz",
        table="results/ingest/batches/{batch}.csv",
    params:
        on_error=config["input"]["on_error"],
    log:
        "logs/ingest/{batch}.log",
    benchmark:
        "logs/benchmarks/ingest/{batch}.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/ingest.py"
