rule demo:
    output:
        ensemble=directory("results/demo/ensemble"),
        truth="results/demo/truth.csv",
    params:
        n_trajectories=config["demo"]["n_trajectories"],
        t_max_fs=config["demo"]["t_max_fs"],
        dt_fs=config["demo"]["dt_fs"],
        broken_fraction=config["demo"]["broken_fraction"],
        cascade=config["demo"]["cascade"],
        seed=config["seed"],
    log:
        "logs/demo.log",
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/demo.py"
