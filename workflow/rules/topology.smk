# The perceived topology (bonds, rings, symmetry) every feature is defined on; its files sit with the features'.
rule topology:
    input:
        stores=batch_stores(),
        trajectories="results/qc/trajectories.parquet",
    output:
        topology="results/features/topology.json",
    params:
        atom_names=config["features"]["atom_names"],
        atoms=config["features"]["atoms"],
        bond_scale=config["features"]["bond_scale"],
        bond_guesser=config["features"]["bond_guesser"],
        reference_xyz=config["features"]["reference_xyz"],
        symmetry=config["features"]["symmetry"],
        symmetry_tolerance=config["features"]["symmetry_tolerance_angstrom"],
    log:
        "logs/features/topology.log",
    benchmark:
        "logs/benchmarks/features/topology.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/topology.py"



# The symmetry relabelling of every event, chosen over the whole ensemble so one channel's events agree.
rule event_symmetry:
    input:
        stores=batch_stores(),
        trajectories="results/qc/trajectories.parquet",
        topology="results/features/topology.json",
    output:
        choices="results/features/event_symmetry.csv",
    params:
        event=config["features"]["event"],
        hop_select=config["features"]["hop_select"],
        event_window_fs=config["features"]["event_window_fs"],
    log:
        "logs/features/event_symmetry.log",
    benchmark:
        "logs/benchmarks/features/event_symmetry.tsv"
    conda:
        "../envs/hopscope.yaml"
    script:
        "../scripts/event_symmetry.py"
