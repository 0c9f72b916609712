from analysis.features.stage import build_topology, choose_event_symmetries
from analysis.runlog import setup

setup(snakemake.log[0])
i, o, p = snakemake.input, snakemake.output, snakemake.params
build_topology(i.stores, i.trajectories, o.topology, atom_names=dict(p.atom_names), bond_scale=p.bond_scale,
               bond_guesser=p.bond_guesser, reference_xyz=p.reference_xyz or None, symmetry_merge=p.symmetry,
               symmetry_tolerance_angstrom=p.symmetry_tolerance, atoms=p.atoms)
choose_event_symmetries(i.stores, i.trajectories, o.topology, o.choices, event=p.event, hop_select=p.hop_select,
                        event_window_fs=p.event_window_fs)
