from analysis.features.stage import build_topology
from analysis.runlog import setup

setup(snakemake.log[0])
build_topology(snakemake.input.stores, snakemake.input.trajectories, snakemake.output.topology,
               atom_names=dict(snakemake.params.atom_names), bond_scale=snakemake.params.bond_scale,
               bond_guesser=snakemake.params.bond_guesser, reference_xyz=snakemake.params.reference_xyz or None,
               symmetry_merge=snakemake.params.symmetry, symmetry_tolerance_angstrom=snakemake.params.symmetry_tolerance,
               atoms=snakemake.params.atoms)
