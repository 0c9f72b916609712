rule surrogate:
    input:
        stores=batch_stores(),
        trajectories="results/qc/trajectories.parquet",
        topology="results/features/topology.json",  # its analysed atoms (features.atoms)
    output:
        metrics="results/surrogate/metrics.json",
        model=directory("results/surrogate/model"),
        # the committee's verdict on the ensemble's frames, from which rule next_calculations picks once the channels
        # are known: made here, beside the clustering, rather than on the path from the channels to the report
        candidates="results/surrogate/next_candidates.npz",
    threads: surrogate_threads  # independent fits (CV folds, candidates) in processes of one BLAS thread each: see analysis/surrogate/parallel.py
    params:
        surrogate=config["surrogate"],
        seed=config["seed"],
    log:
        "logs/surrogate.log",
    benchmark:
        "logs/benchmarks/surrogate.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/surrogate.py"


rule next_calculations:
    input:
        candidates="results/surrogate/next_candidates.npz",
        stores=batch_stores(),  # the whole system's coordinates where the model has a part of it (features.atoms)
        assignments="results/clusters/assignments.csv",
    output:
        index="results/surrogate/next_calculations/index.csv",
    params:
        n=config["surrogate"]["next_calculations"],
    log:
        "logs/next_calculations.log",
    benchmark:
        "logs/benchmarks/next_calculations.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/next_calculations.py"


# On request: snakemake results/predict/<name>.csv predicts every frame of predict/<name>.xyz (Å).
rule predict:
    input:
        model="results/surrogate/model",
        xyz="predict/{name}.xyz",
    output:
        csv="results/predict/{name}.csv",
    log:
        "logs/predict/{name}.log",
    benchmark:
        "logs/benchmarks/predict/{name}.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/predict.py"
