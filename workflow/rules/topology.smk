# The perceived topology (bonds, rings, symmetry) every feature is defined on; its files sit with the features'.
rule topology:
    input:
        stores=batch_stores(),
        trajectories="results/qc/trajectories.parquet",
    output:
        topology="results/features/topology.json",
    params:
        atom_names=config["features"]["atom_names"],
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

