"""Analysed atoms (features.atoms): a QM/MM-like run's solvent is left out by default, a user's list is honoured,
and every job that reads coordinates reads the same atoms."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.atoms import AtomSelection, analysed_atoms, fragment_labels, parse_atom_list, solvent_atoms
from analysis.topology import perceive_bonds

WATER = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [-0.2400, 0.9266, 0.0]])  # O-H 0.957 Å, H-O-H 104.5°


def water_shell(n_waters: int, seed: int = 0, inner: float = 5.0, outer: float = 9.0) -> tuple[list[str], np.ndarray]:
    """``n_waters`` water molecules at random orientations, their O atoms 2.9 Å apart or more, between ``inner`` and
    ``outer`` Å from the origin."""
    rng = np.random.default_rng(seed)
    centres: list[np.ndarray] = []
    while len(centres) < n_waters:
        p = rng.uniform(-outer, outer, 3)
        if inner < np.linalg.norm(p) < outer and all(np.linalg.norm(p - c) > 2.9 for c in centres):
            centres.append(p)
    out = []
    for c in centres:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        out.append(WATER @ q.T + c)
    return ["O", "H", "H"] * n_waters, np.concatenate(out)


def test_parse_atom_list_reads_one_based_ranges_and_names_what_is_wrong():
    assert parse_atom_list("1-3,6", 10) == [0, 1, 2, 5]
    assert parse_atom_list("6 1-3, 2", 10) == [0, 1, 2, 5]
    with pytest.raises(ValueError, match=r"features.atoms: '0-3' is outside atoms 1-10"):
        parse_atom_list("0-3", 10)
    with pytest.raises(ValueError, match=r"'11' is outside atoms 1-10"):
        parse_atom_list("1-4,11", 10)
    with pytest.raises(ValueError, match=r"'C1' is not an atom number or range"):
        parse_atom_list("C1", 10)


def test_solvent_is_many_copies_of_one_small_molecule_and_its_counter_ions():
    mol = demo.MOLECULES["cytosine"]
    n_mol = len(mol.symbols)
    w_sym, w_xyz = water_shell(12)
    symbols = list(mol.symbols) + w_sym + ["Na"]
    xyz = np.vstack([mol.xyz, w_xyz, [[0.0, 0.0, 12.0]]])
    bonds = perceive_bonds(symbols, xyz, method="mdanalysis")
    labels = fragment_labels(len(symbols), bonds)
    assert len(set(labels)) == 1 + 12 + 1  # the molecule, 12 waters, the ion
    assert solvent_atoms(symbols, bonds) == list(range(n_mol, len(symbols)))
    # two waters whose hydrogens the guesser bonded in the reference frame (one H4O2 fragment) are solvent too
    paired = xyz.copy()
    h_a, h_b = n_mol + 1, n_mol + 4  # an H of the first and of the second water
    paired[n_mol + 3:n_mol + 6] += paired[h_a] - paired[h_b] + [0.9, 0.0, 0.0]  # H-H 0.9 Å
    paired_bonds = perceive_bonds(symbols, paired, method="mdanalysis")
    assert (h_a, h_b) in paired_bonds
    assert solvent_atoms(symbols, paired_bonds) == list(range(n_mol, len(symbols)))
    kept, why = analysed_atoms("auto", symbols, bonds)
    assert kept == list(range(n_mol)) and "37 solvent atoms left out" in why
    assert analysed_atoms("all", symbols, bonds)[0] == list(range(len(symbols)))
    assert analysed_atoms("1-4", symbols, bonds)[0] == [0, 1, 2, 3]
    assert analysed_atoms([1, 2], symbols, bonds)[0] == [0, 1]
    # a microsolvated cluster (5 waters) keeps its waters; a pure water cluster keeps everything; a lone ion
    # without a solvent is part of the system
    few_sym, few_xyz = water_shell(5)
    s5 = list(mol.symbols) + few_sym + ["Na"]
    x5 = np.vstack([mol.xyz, few_xyz, [[0.0, 0.0, 12.0]]])
    assert solvent_atoms(s5, perceive_bonds(s5, x5, method="mdanalysis")) == []
    assert solvent_atoms(w_sym, perceive_bonds(w_sym, w_xyz, method="mdanalysis")) == []


def write_solvated_ensemble(root, n_waters: int, solvent_first: bool = False, n_trajectories: int = 8, seed: int = 3):
    """Newton-X runs of the demo molecule in two planted channels (C6 puckering, NH2 out-of-plane), hop S1→S0 at the
    planted time, with a shell of ``n_waters`` waters written beside it (thermal jitter only), as a QM/MM run
    writes its whole system. Returns the molecule's atom indices in the files."""
    rng = np.random.default_rng(seed)
    xyz = demo.equilibrium_geometry()
    omega, modes = demo.normal_modes(xyz, demo.SYMBOLS)
    pes = demo.DemoPES(xyz)
    time_fs = np.round(np.arange(0.0, 60.0 + 0.25, 0.5), 6)
    w_sym, w_xyz = water_shell(n_waters, seed=seed)
    n_mol = len(demo.SYMBOLS)
    for k in range(n_trajectories):
        coords, energies, planted = demo.simulate_trajectory(rng, xyz, omega, modes, pes, k % 2, time_fs)
        active = np.where(time_fs < planted, 2, 1)
        solvent = w_xyz[None] + rng.normal(scale=0.03, size=(len(time_fs), len(w_xyz), 3))
        system = np.concatenate([solvent, coords] if solvent_first else [coords, solvent], axis=1)
        symbols = (w_sym + list(demo.SYMBOLS)) if solvent_first else (list(demo.SYMBOLS) + w_sym)
        demo.write_newtonx_trajectory(root / f"TRAJ{k + 1}", symbols, time_fs, system, energies, active,
                                      np.eye(3)[active - 1], 0.5)
    return list(range(len(w_sym), len(w_sym) + n_mol)) if solvent_first else list(range(n_mol))


@pytest.fixture(scope="module")
def solvated(tmp_path_factory):
    """A 12-water solvated ensemble (solvent written first) through ingest and QC."""
    from analysis.ingest import ingest_batch
    from analysis.qc import run_qc

    tmp = tmp_path_factory.mktemp("solvated")
    molecule = write_solvated_ensemble(tmp / "ens", 12, solvent_first=True)
    ingest_batch(tmp / "ens", tmp / "s.npz", tmp / "t.csv")
    run_qc([tmp / "s.npz"], [tmp / "t.csv"], tmp / "qc.csv", tmp / "t.parquet")
    return tmp, molecule


def test_store_reads_the_analysed_atoms_of_the_system(solvated):
    from analysis.io.store import Store

    tmp, molecule = solvated
    with Store(tmp / "s.npz") as whole:
        tid = whole.ids[0]
        system_symbols = tuple(whole.meta[tid]["symbols"])
        full = whole.array(tid, "coords_angstrom")
    selection = AtomSelection(system_symbols, tuple(molecule))
    with Store(tmp / "s.npz", selection) as store:
        assert store.meta[tid]["symbols"] == list(demo.SYMBOLS)
        np.testing.assert_array_equal(store.array(tid, "coords_angstrom"), full[:, molecule])
        np.testing.assert_array_equal(store.rows(tid, "coords_angstrom", [0, 5, 6]), full[[0, 5, 6]][:, molecule])
        np.testing.assert_array_equal(store.rows(tid, "coords_angstrom", 3), full[3, molecule])
        assert store.shape(tid, "coords_angstrom") == (len(full), len(molecule), 3)
        t = store.trajectory(tid)
        assert t.symbols == list(demo.SYMBOLS) and t.coords_angstrom.shape[1:] == (len(molecule), 3)
        assert t.masses_amu.shape == (len(molecule),)
    other = AtomSelection(("C", "H"), (0,))  # another system: its selection does not apply
    with Store(tmp / "s.npz", other) as store:
        assert store.array(tid, "coords_angstrom").shape == full.shape


def test_solvated_run_is_analysed_on_its_molecule_with_the_files_numbering(solvated):
    """Topology, features and the surrogate of a solvated ensemble: the waters (written first) are left out, the
    molecule keeps its atom numbers in the files (C37 …), its ring and bonds are the demo's, no feature names a
    water atom, and the surrogate model takes geometries of the molecule or of the whole system alike."""
    from analysis.features.stage import build_topology, featurize_batch
    from analysis.io.store import Store
    from analysis.report.molecule import molecule_lines
    from analysis.surrogate.modelfile import ModelMismatchError, load_model
    from analysis.surrogate.train import train_surrogate

    tmp, molecule = solvated
    top = build_topology([tmp / "s.npz"], tmp / "t.parquet", tmp / "top.json", atoms="auto")
    assert top.atoms == molecule and len(top.system_symbols) == 36 + 13
    assert top.symbols == list(demo.SYMBOLS)
    assert top.names == [f"{s}{a + 1}" for s, a in zip(demo.SYMBOLS, molecule)]
    assert len(top.bonds) == 13 and len(top.rings) == 1 and len(top.rings[0]) == 6
    assert any("13 of the simulated system's 49; the other 36 (H24O12" in line for line in molecule_lines(top))
    featurize_batch(tmp / "s.npz", tmp / "t.parquet", tmp / "top.json", tmp / "ev.parquet", tmp / "fr.parquet",
                    families=["bonds", "angles", "pucker", "oop"])
    events = pd.read_parquet(tmp / "ev.parquet")
    assert len(events) == 8
    named = {name for name in top.names}
    atoms_in_columns = {tok for col in events.columns if "[" in col
                        for tok in re.findall(r"\b[A-Z][a-z]?\d+\b", col[col.index("["):])}
    assert atoms_in_columns and atoms_in_columns <= named
    # 'all' keeps the waters' 24 O-H bonds
    whole = build_topology([tmp / "s.npz"], tmp / "t.parquet", tmp / "all.json", atoms="all")
    assert whole.atoms == [] and len(whole.bonds) == 13 + 24
    assert build_topology([tmp / "s.npz"], tmp / "t.parquet", tmp / "list.json",
                          atoms=f"{molecule[0] + 1}-{molecule[-1] + 1}").atoms == molecule

    fast = {"n_members": 2, "cv_max_frames": 600, "learning_curve": False, "mlp_grid": [{"hidden_layer_sizes": [16]}],
            "mlp": {"max_iter": 20}, "krr_grid": {"kernel": ["gaussian"], "length_scale_factor": [2.0], "alpha": [1e-5]}}
    metrics = train_surrogate([tmp / "s.npz"], tmp / "t.parquet", tmp / "m.json", tmp / "model", params=fast,
                              topology_json=tmp / "top.json")
    assert "skipped" not in metrics
    model = load_model(tmp / "model")
    assert model.symbols == list(demo.SYMBOLS) and model.info["atoms"] == molecule
    with Store(tmp / "s.npz") as store:
        tid = store.ids[0]
        system = store.rows(tid, "coords_angstrom", [0, 40, 80])
        system_symbols = store.meta[tid]["symbols"]
    by_system = model.predict_table(system, symbols=system_symbols)
    by_molecule = model.predict_table(system[:, molecule], symbols=list(demo.SYMBOLS))
    pd.testing.assert_frame_equal(by_system, by_molecule)
    with pytest.raises(ModelMismatchError, match="or the whole simulated system's 49 atoms, of which atoms 37-49"):
        model.predict_table(system[:, ::-1], symbols=system_symbols[::-1])

    # the next calculations are written with their environment: the whole system at the picked frame
    from analysis.io.text import read_xyz_frames
    from analysis.surrogate.active import run_next_calculations

    table = run_next_calculations(tmp / "model", [tmp / "s.npz"], tmp / "t.parquet", tmp / "none.csv", tmp / "next", n=3)
    assert len(table) == 3
    for row in table.itertuples():
        written = read_xyz_frames(tmp / "next" / row.file)
        assert list(written["symbols"]) == list(system_symbols)
        with Store(tmp / "s.npz") as store:
            frame = int(np.argmin(np.abs(store.array(row.trajectory_id, "time_fs") - row.time_fs)))
            np.testing.assert_allclose(written["coords_angstrom"][0], store.rows(row.trajectory_id, "coords_angstrom", frame),
                                       atol=1e-7)
    # and they go straight back into predict (their comment lines are plain ASCII: '+/-', not '±')
    from analysis.surrogate.predict import predict_xyz

    again = predict_xyz(tmp / "model", tmp / "next" / table["file"].iloc[0])
    assert again[f"{model.state_names[0]}_ev"].iloc[0] == pytest.approx(table[f"{model.state_names[0]}_ev"].iloc[0], abs=1e-4)


def test_surrogate_frames_stay_within_the_descriptor_budget():
    """A system analysed whole grows the inverse-distance descriptor as the square of its atoms: the frames are
    capped so it fits in the budget, and where too few fit the surrogate is skipped with the remedy named (a
    913-atom QM/MM system analysed whole had not trained in 10 minutes)."""
    from analysis.surrogate.frames import DESCRIPTOR_BUDGET_VALUES, SurrogateSkipped, within_descriptor_budget

    assert within_descriptor_budget(13, 20000) == 20000
    capped = within_descriptor_budget(103, 20000)
    assert capped * 103 * 102 // 2 <= DESCRIPTOR_BUDGET_VALUES < (capped + 1) * 103 * 102 // 2
    with pytest.raises(SurrogateSkipped, match="Give the molecule .* as features.atoms"):
        within_descriptor_budget(913, 20000)
