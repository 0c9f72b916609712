rule report:
    input:
        trajectories="results/qc/trajectories.parquet",
        qc="results/qc/qc.csv",
        assignments="results/clusters/assignments.csv",
        stats="results/clusters/channel_stats.csv",
        formation="results/clusters/formation.csv",
        events="results/features/events.parquet",
        frames=expand("results/features/frames/{batch}.parquet", batch=BATCHES),
        scores="results/reduce/scores.parquet",
        pca="results/reduce/pca.json",
        topology="results/features/topology.json",
        metrics="results/surrogate/metrics.json",
        model="results/surrogate/model",
        next_calculations="results/surrogate/next_calculations/index.csv",
        stores=batch_stores(),
        manifests=expand("results/ingest/manifest/{batch}.tsv", batch=BATCHES),
    output:
        html=report("results/report/report.html", caption="../report/report.rst", category="Report"),
        channels="results/report/channels.csv",
        events="results/report/events.csv",
        products="results/report/products.csv",
        markdown="results/report/channels.md",
        warnings="results/report/warnings.txt",
        figures=report(directory("results/report/figures"), patterns=["{name}.png"], caption="../report/figure.rst",
                       category="Figures"),
    threads: 2  # the last job, alone: figures and drawings in forked processes (analysis/report/forked.py)
    params:
        config_summary=config,
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmarks/report.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/report.py"
