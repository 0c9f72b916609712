# The perceived topology (bonds, rings, symmetry) every feature is defined on, and the symmetry relabelling of
# every event, chosen over the whole ensemble so one channel's events agree; their files sit with the features'.
# One job for both (they read the same stores): the feature batches and the surrogate become ready together, and
# the features' priority puts them first (see common.smk).
rule topology:
    input:
        stores=batch_stores(),
        trajectories="results/qc/trajectories.parquet",
    output:
        topology="results/features/topology.json",
        choices="results/features/event_symmetry.csv",
    params:
        atom_names=config["features"]["atom_names"],
        atoms=config["features"]["atoms"],
        bond_scale=config["features"]["bond_scale"],
        bond_guesser=config["features"]["bond_guesser"],
        reference_xyz=config["features"]["reference_xyz"],
        symmetry=config["features"]["symmetry"],
        symmetry_tolerance=config["features"]["symmetry_tolerance_angstrom"],
        event=config["features"]["event"],
        hop_select=config["features"]["hop_select"],
        event_window_fs=config["features"]["event_window_fs"],
    priority: CHANNEL_PRIORITY
    log:
        "logs/features/topology.log",
    benchmark:
        "logs/benchmarks/features/topology.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/topology.py"
