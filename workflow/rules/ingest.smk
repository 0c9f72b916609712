# One job per batch discovers its trajectories (the batch's manifest, for the report's provenance) and reads them
# into the store; the batch's manifest digest is a param, so adding, removing or changing a trajectory re-runs
# exactly that batch.
rule ingest:
    input:
        unpack(discover_inputs),
    output:
        manifest="results/ingest/manifest/{batch}.tsv",
        store="results/ingest/batches/{batch}.npz",
        table="results/ingest/batches/{batch}.csv",
    params:
        root=ensemble_root(),
        fmt=config["input"]["format"],
        pattern=config["input"]["pattern"],
        n_batches=len(BATCHES),
        digest=batch_manifest_digest,
        on_error=config["input"]["on_error"],
    log:
        "logs/ingest/{batch}.log",
    benchmark:
        "logs/benchmarks/ingest/{batch}.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/ingest.py"
