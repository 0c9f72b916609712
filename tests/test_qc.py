import numpy as np
import pytest
import pandas as pd

from analysis.ingest import ingest_batch
from analysis.qc import run_qc, trajectory_checks


def test_qc_excludes_exactly_the_planted_broken_trajectories(small_demo, tmp_path):
    out, truth = small_demo
    stores, tables = [], []
    for b in range(2):
        stores.append(tmp_path / f"{b}.npz")
        tables.append(tmp_path / f"{b}.csv")
        ingest_batch(out / "ensemble", stores[-1], tables[-1], batch=b, n_batches=2)
    run_qc(stores, tables, tmp_path / "qc.csv", tmp_path / "traj.parquet")
    table = pd.read_parquet(tmp_path / "traj.parquet")
    assert len(table) == len(truth)
    excluded = set(table.loc[table.status == "excluded", "trajectory_id"])
    assert excluded == set(truth.loc[truth.broken != "", "trajectory_id"])
    reasons = table.set_index("trajectory_id")["reason"]
    for row in truth[truth.broken != ""].itertuples():
        word = "jump" if row.broken == "energy_jump" else "fs simulated ("
        assert word in reasons[row.trajectory_id]
    qc = pd.read_csv(tmp_path / "qc.csv")
    assert {"etot_drift_ev", "etot_step_ev", "hop_epot_jump_ev", "length_fraction", "qc_pass"} <= set(qc.columns)
    numbers = [int(t.removeprefix("TRAJ")) for t in qc["trajectory_id"]]  # two batches, read back in natural order
    assert numbers == sorted(numbers) and list(qc["trajectory_id"]) == list(table["trajectory_id"])


def test_policy_keep_reports_but_keeps(small_demo, tmp_path):
    out, truth = small_demo
    ingest_batch(out / "ensemble", tmp_path / "0.npz", tmp_path / "0.csv")
    run_qc([tmp_path / "0.npz"], [tmp_path / "0.csv"], tmp_path / "qc.csv", tmp_path / "t.parquet", policy="keep")
    table = pd.read_parquet(tmp_path / "t.parquet")
    assert (table.status == "ok").all()
    assert table["reason"].str.startswith("QC (kept)").sum() == (truth.broken != "").sum()


def test_parse_error_excludes_one_trajectory_and_keeps_the_rest(small_demo, tmp_path):
    import shutil

    out, truth = small_demo
    ens = tmp_path / "ens"
    shutil.copytree(out / "ensemble", ens)
    (ens / "TRAJ3" / "RESULTS" / "en.dat").write_text("garbage line\n")
    table = ingest_batch(ens, tmp_path / "s.npz", tmp_path / "t.csv")
    row = table.set_index("trajectory_id").loc["TRAJ3"]
    assert row.status == "excluded" and "en.dat" in row.reason and ":1" in row.reason
    assert (table.status == "ok").sum() == len(truth) - 1


def test_checks_detect_nan_and_step():
    import numpy as np

    t = np.arange(5.0)
    coords = np.zeros((5, 2, 3))
    coords[2, 0, 0] = np.nan
    e = np.zeros((5, 2))
    etot = np.array([0, 0, 0.5, 0.5, 0.5])
    c = trajectory_checks(t, coords, np.ones(5, dtype=int), e, etot)
    assert not c["finite"] and c["etot_step_ev"] == 0.5 and c["etot_drift_ev"] == 0.5


def test_first_failing_frame_known_answers():
    from analysis.qc import first_failing_frame

    th = {"max_etot_drift_ev": 0.2, "max_etot_step_ev": 0.1, "max_hop_epot_jump_ev": 1.0}
    state = np.array([2, 2, 2, 1, 1, 1])
    e = np.column_stack([np.zeros(6), np.full(6, 0.5)])
    etot = np.array([0.0, 0.05, 0.1, 0.15, 0.21, 0.25])  # slow drift: first frame beyond 0.2 eV is 4
    assert first_failing_frame(state, e, etot, e[np.arange(6), state - 1], th) == 4
    etot = np.array([0.0, 0.0, 0.15, 0.15, 0.15, 0.15])  # one-step jump between frames 1 and 2
    assert first_failing_frame(state, e, etot, e[np.arange(6), state - 1], th) == 2
    e_far = np.column_stack([np.zeros(6), np.full(6, 2.0)])  # the hop at frame 3 jumps 2 eV
    assert first_failing_frame(state, e_far, np.zeros(6), e_far[np.arange(6), state - 1], th) == 3
    assert first_failing_frame(state, e, np.full(6, np.nan), e[np.arange(6), state - 1], th) == 6  # nothing fails


def test_policy_truncate_cuts_at_the_planted_jump_and_excludes_the_crash(small_demo, tmp_path):
    out, truth = small_demo
    ingest_batch(out / "ensemble", tmp_path / "0.npz", tmp_path / "0.csv")
    run_qc([tmp_path / "0.npz"], [tmp_path / "0.csv"], tmp_path / "qc.csv", tmp_path / "t.parquet", policy="truncate")
    table = pd.read_parquet(tmp_path / "t.parquet").merge(truth, on="trajectory_id")
    jumped, crashed = table[table.broken == "energy_jump"], table[table.broken == "truncated"]
    assert len(jumped) and len(crashed)
    assert (jumped.status == "ok").all() and (jumped.n_frames_used == np.round(jumped.broken_at_fs / 0.5)).all()
    assert (crashed.status == "excluded").all()
    clean = table[table.broken == ""]
    assert (clean.status == "ok").all() and (clean.n_frames_used == clean.n_frames).all()


def _rows(**changes):
    base = {"n_frames": 100, "etot_drift_ev": 0.01, "etot_step_ev": 0.01, "hop_epot_jump_ev": 0.1, "finite": True,
            "excluding_flags": "", "usable_frames": 100, "first_failing_time_fs": np.nan, "time_step_fs": 0.5, "duration_fs": 49.5}
    return [{"trajectory_id": f"T{k}", **base, **changes.get(f"T{k}", {})} for k in range(1, 5)]


def test_qc_table_names_each_failed_check_against_the_thresholds():
    from analysis.qc import DEFAULT_THRESHOLDS, qc_table

    rows = _rows(T2={"etot_drift_ev": 0.5, "usable_frames": 40, "first_failing_time_fs": 20.0}, T3={"n_frames": 60, "duration_fs": 29.5},
                 T4={"excluding_flags": "DONT_ANALYZE"})
    symbols = {"T1": ("C", "H"), "T2": ("C", "H"), "T3": ("C", "H"), "T4": ("C", "O")}
    qc = qc_table(rows, symbols, DEFAULT_THRESHOLDS).set_index("trajectory_id")
    assert list(qc["qc_pass"]) == [True, False, False, False]
    assert "total-energy drift 0.500 eV > 0.2 eV" in qc.at["T2", "qc_reason"]
    assert "29.5 fs simulated (60 frames of 0.5 fs) < 1 x nominal 49.5 fs" in qc.at["T3", "qc_reason"]
    assert "atom count or order differs" in qc.at["T4", "qc_reason"] and "DONT_ANALYZE" in qc.at["T4", "qc_reason"]
    assert "2 atoms (CO) where the ensemble has 2 (CH)" in qc.at["T4", "qc_reason"]
    # only a frame-local failure with frames left before it can be truncated
    assert list(qc["truncatable"]) == [False, True, False, False]


def test_runs_of_another_molecule_in_the_root_do_not_set_the_nominal_length():
    """Two 100 fs runs of pyrazine and two 250 fs runs of cyclohexadiene copied into one root (measured: every run
    excluded, the pyrazine runs as '100 fs simulated < 1 x nominal 175 fs'): the other molecule's runs are excluded
    for their atoms and do not set the nominal length of the ensemble's molecule."""
    from analysis.qc import DEFAULT_THRESHOLDS, qc_table

    long, short = {"duration_fs": 250.0, "n_frames": 501, "usable_frames": 501}, {"duration_fs": 100.0, "n_frames": 201, "usable_frames": 201}
    rows = _rows(T1=short, T2=short, T3=long, T4=long)
    symbols = {"T1": ("C", "N"), "T2": ("C", "N"), "T3": ("C", "H"), "T4": ("C", "H")}
    qc = qc_table(rows, symbols, DEFAULT_THRESHOLDS).set_index("trajectory_id")
    assert list(qc["qc_pass"]) == [True, True, False, False], qc["qc_reason"].to_dict()
    assert "nominal" not in " ".join(qc["qc_reason"])
    assert "where the ensemble has 2 (CN) (as many runs of each, 2: the ensemble's molecule is the one read first)" in qc.at["T3", "qc_reason"]


@pytest.mark.parametrize("policy, status, used", [("exclude", ["ok", "excluded", "excluded"], [100, None, None]),
                                                  ("truncate", ["ok", "ok", "excluded"], [100, 40, None]),
                                                  ("keep", ["ok", "ok", "ok"], [100, 100, 60])])
def test_apply_policy_sets_status_and_frames_used(policy, status, used):
    from analysis.qc import DEFAULT_THRESHOLDS, apply_policy, qc_table

    rows = _rows(T2={"etot_drift_ev": 0.5, "usable_frames": 40, "first_failing_time_fs": 20.0}, T3={"n_frames": 60, "duration_fs": 29.5})[:3]
    qc = qc_table(rows, {f"T{k}": ("C",) for k in range(1, 4)}, DEFAULT_THRESHOLDS)
    table = pd.DataFrame({"trajectory_id": ["T3", "T1", "T2", "T9"], "status": ["ok", "ok", "ok", "excluded"], "reason": "",
                          "n_frames": [60, 100, 100, None], "n_atoms": 1, "n_states": 2, "n_hops": 1, "final_state": 1})
    out = apply_policy(table, qc, policy)[:3]  # T9: unreadable (no frame count: the column is float)
    assert list(out["trajectory_id"]) == ["T1", "T2", "T3"]
    assert list(out["status"]) == status
    assert [None if pd.isna(v) else int(v) for v in out["n_frames_used"]] == used
    if policy == "truncate":
        assert out.at[1, "reason"].startswith("QC (truncated: frames from 20.00 fs on dropped, 40 of 100 kept)")


def test_apply_policy_fail_stops_naming_the_trajectory():
    from analysis.qc import DEFAULT_THRESHOLDS, apply_policy, qc_table

    qc = qc_table(_rows(T2={"etot_step_ev": 0.3})[:2], {"T1": ("C",), "T2": ("C",)}, DEFAULT_THRESHOLDS)
    table = pd.DataFrame({"trajectory_id": ["T1", "T2"], "status": "ok", "reason": "", "n_frames": [100, 100], "n_atoms": 1,
                          "n_states": 2, "n_hops": 1, "final_state": 1})
    with pytest.raises(RuntimeError, match="T2: total-energy jump 0.300 eV"):
        apply_policy(table, qc, "fail")


def test_store_checks_read_each_trajectory_and_keep_only_the_excluding_flags(tmp_path):
    from analysis.io.store import Store, write_store
    from analysis.io.trajectory import Trajectory
    from analysis.qc import QC_COLUMNS, first_failing_frame, store_checks
    from analysis.settings import defaults

    def traj(tid, flags, jump_at=None):
        t = np.arange(0.0, 10.0, 0.5)
        etot = np.full(len(t), -100.0)
        if jump_at is not None:
            etot[jump_at:] += 0.5  # a 0.5 eV step of the total energy at frame jump_at (threshold 0.1)
        energies = np.column_stack([np.full(len(t), -100.0), np.full(len(t), -96.0)])
        return Trajectory(trajectory_id=tid, source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=flags, extra={},
                          time_fs=t, coords_angstrom=np.tile([[0, 0, 0], [0, 0, 0.74]], (len(t), 1, 1)).astype(float),
                          active_state=np.full(len(t), 2), energies_ev=energies, total_energy_ev=etot,
                          potential_energy_ev=energies[:, 1], masses_amu=np.ones(2), populations=None, multiplicities=None)

    write_store([traj("T1", ["DONT_ANALYZE present", "frames_dropped_at_restart: 2"]), traj("T2", [], jump_at=12)], tmp_path / "s.npz")
    thresholds = defaults("qc")
    with Store(tmp_path / "s.npz") as store:
        rows, symbols = store_checks(store, thresholds, tuple(thresholds["exclude_flags"]))
        direct = first_failing_frame(store.array("T2", "active_state"), store.array("T2", "energies_ev"),
                                     store.array("T2", "total_energy_ev"), store.array("T2", "potential_energy_ev"), thresholds)
    by_id = {r["trajectory_id"]: r for r in rows}
    assert set(QC_COLUMNS) <= set(by_id["T1"]) | {"status", "reason", "n_frames_used"}
    assert by_id["T1"]["excluding_flags"] == "DONT_ANALYZE present"  # the restart note is not an excluding flag
    assert by_id["T1"]["usable_frames"] == 20 and np.isnan(by_id["T1"]["first_failing_time_fs"])
    assert by_id["T2"]["usable_frames"] == direct == 12 and by_id["T2"]["first_failing_time_fs"] == 6.0
    assert by_id["T2"]["etot_step_ev"] == pytest.approx(0.5) and symbols == {"T1": ("H", "H"), "T2": ("H", "H")}
    assert by_id["T1"]["fc_ground_energy_ev"] == by_id["T2"]["fc_ground_energy_ev"] == -100.0  # the lower state at frame 0


def test_energy_reference_groups_cut_where_neighbouring_energies_are_far_apart():
    from analysis.qc import energy_reference_groups

    ids = ["A", "B", "C", "D", "E", "F"]
    assert energy_reference_groups(ids, [-50.0, -49.0, -47.5, -46.0, -44.5, -43.0]) == [ids]  # a chain of 1.5 eV steps
    assert energy_reference_groups(ids, [-50.0, -46.0, -49.8, np.nan, -45.9, -30.0]) == [["A", "C"], ["B", "E"], ["F"]]
    assert energy_reference_groups(ids[:2], [np.nan, np.nan]) == [] and energy_reference_groups([], []) == []


def test_atoms_difference_says_how_the_atoms_differ():
    from analysis.elements import hill_formula as formula
    from analysis.qc import atoms_difference

    assert formula(["N", "C", "C", "H", "H", "O", "C"]) == "C3H2NO" and formula(["O", "H", "H"]) == "H2O"
    pyrazine, cytosine = ("N", "N", "C", "C", "C", "C", "H", "H", "H", "H"), ("N", "C", "N", "C", "C", "C", "O", "N", "H", "H", "H", "H", "H")
    assert atoms_difference(pyrazine, cytosine).endswith("10 atoms (C4H4N2) where the ensemble has 13 (C4H5N3O)")
    swapped = ("N", "C", "N", "C") + pyrazine[4:]
    assert atoms_difference(swapped, pyrazine).endswith("the same atoms in another order (atom 2 is C, the ensemble's is N)")


def test_a_short_run_its_program_stopped_once_relaxed_is_not_too_short():
    """T3 and T4 end at 60 frames, T1 and T2 at 100 (nominal: the median, 80); T4's reader found it stopped by killafter (complete), T3
    has no such flag (a crash): only T3 fails the length check."""
    from analysis.qc import DEFAULT_THRESHOLDS, qc_table

    rows = _rows(T3={"n_frames": 60, "duration_fs": 29.5, "usable_frames": 60},
                 T4={"n_frames": 60, "duration_fs": 29.5, "usable_frames": 60, "stopped_after_relaxation": True})
    qc = qc_table(rows, {f"T{k}": ("C",) for k in range(1, 5)}, DEFAULT_THRESHOLDS).set_index("trajectory_id")
    assert list(qc["qc_pass"]) == [True, True, False, True]
    assert "29.5 fs simulated (60 frames of 0.5 fs) < 1 x nominal 39.5 fs" in qc.at["T3", "qc_reason"] and list(qc["stopped_after_relaxation"]) == [False] * 3 + [True]


def test_populations_keep_a_run_stopped_once_relaxed_in_its_final_state():
    """T1 runs to 10 fs in S1; T2 stopped in S0 at 6 fs (killafter); T3 crashed in S1 at 6 fs. At 8 and 10 fs T1
    (S1) and T2 (S0, kept) count, T3 does not: S0 is 1/2 there, not 0."""
    from analysis.kinetics import carry_final_states
    from analysis.report.figures import population_fractions

    times = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    frames = pd.DataFrame({"trajectory_id": ["T1"] * 6 + ["T2"] * 4 + ["T3"] * 4, "time_fs": times + times[:4] + times[:4],
                           "frame": list(range(6)) + list(range(4)) * 2,
                           "state_label": ["S1"] * 6 + ["S1", "S1", "S0", "S0"] + ["S1"] * 4})
    frames["active_state"] = np.where(frames["state_label"] == "S0", 1, 2)
    kept = carry_final_states(frames, ["T2"])
    assert len(kept) == len(frames) + 2 and set(kept.loc[kept["frame"] == -1, "time_fs"]) == {8.0, 10.0}
    assert kept.loc[kept["frame"] == -1, ["trajectory_id", "state_label", "active_state"]].values.tolist() == [["T2", "S0", 1]] * 2
    np.testing.assert_allclose(population_fractions(kept)["S0"], [0, 0, 1 / 3, 1 / 3, 1 / 2, 1 / 2])
    np.testing.assert_allclose(population_fractions(frames)["S0"], [0, 0, 1 / 3, 1 / 3, 0, 0])  # dropped, it vanished
    assert carry_final_states(frames, []) is frames and len(carry_final_states(frames, ["T1"])) == len(frames)


def test_a_run_that_blew_up_is_truncated_before_its_first_non_finite_frame(tmp_path):
    # a program prints NaN once the electronic structure fails: the frames before are a usable trajectory
    from analysis.io.store import Store, write_store
    from analysis.io.trajectory import Trajectory
    from analysis.qc import DEFAULT_THRESHOLDS, apply_policy, first_non_finite_frame, qc_table, store_checks

    def traj(tid, nan_coords_at=None, nan_energy_at=None):
        t = np.arange(0.0, 10.0, 0.5)
        coords = np.tile([[0, 0, 0], [0, 0, 0.74]], (len(t), 1, 1)).astype(float)
        energies = np.column_stack([np.full(len(t), -100.0), np.full(len(t), -96.0), np.full(len(t), np.nan)])  # S2 not written
        if nan_coords_at is not None:
            coords[nan_coords_at:, 1, 2] = np.nan
        if nan_energy_at is not None:
            energies[nan_energy_at:, 0] = np.inf
        return Trajectory(trajectory_id=tid, source_path="x", format="xyz", symbols=["H", "H"], state_labels=[], flags=[], extra={},
                          time_fs=t, coords_angstrom=coords, active_state=np.full(len(t), 2), energies_ev=energies,
                          total_energy_ev=np.full(len(t), np.nan), potential_energy_ev=energies[:, 1], masses_amu=np.ones(2),
                          populations=None, multiplicities=None)

    trajs = [traj("T1"), traj("T2", nan_coords_at=15), traj("T3", nan_energy_at=7), traj("T4", nan_coords_at=0)]
    assert [first_non_finite_frame(t.coords_angstrom, t.energies_ev, t.total_energy_ev) for t in trajs] == [20, 15, 7, 0]
    write_store(trajs, tmp_path / "s.npz")
    with Store(tmp_path / "s.npz") as store:
        rows, symbols = store_checks(store, DEFAULT_THRESHOLDS)
    qc = qc_table(rows, symbols, DEFAULT_THRESHOLDS)
    table = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3", "T4"], "status": "ok", "reason": "", "n_frames": 20, "n_atoms": 2,
                          "n_states": 3, "n_hops": 0, "final_state": 2})
    out = apply_policy(table, qc, "truncate").set_index("trajectory_id")
    assert list(out["status"]) == ["ok", "ok", "ok", "excluded"]
    assert list(out["n_frames_used"][:3]) == [20, 15, 7]
    assert out.at["T2", "reason"].startswith("QC (truncated: frames from 7.50 fs on dropped, 15 of 20 kept): NaN or inf")
    assert out.at["T4", "reason"] == "QC: NaN or inf in coordinates or energies"
    assert list(apply_policy(table, qc, "exclude")["status"]) == ["ok", "excluded", "excluded", "excluded"]


def test_runs_of_one_length_written_with_different_time_steps_are_not_too_short():
    # half the ensemble at 0.25 fs, half at 0.5 fs, all to 30 fs: by frame count the 0.5 fs half was "too short"
    from analysis.qc import DEFAULT_THRESHOLDS, qc_table, trajectory_checks

    def row(tid, dt, t_end):
        t = np.arange(0.0, t_end + dt / 2, dt)
        n = len(t)
        checks = trajectory_checks(t, np.zeros((n, 2, 3)), np.ones(n, dtype=int), np.zeros((n, 1)), np.zeros(n))
        return {"trajectory_id": tid, **checks, "excluding_flags": "", "usable_frames": n, "first_failing_time_fs": np.nan}

    rows = [row("T1", 0.25, 30.0), row("T2", 0.25, 30.0), row("T3", 0.5, 30.0), row("T4", 0.5, 30.0), row("T5", 0.5, 20.0)]
    assert [r["n_frames"] for r in rows] == [121, 121, 61, 61, 41]
    qc = qc_table(rows, {r["trajectory_id"]: ("C", "O") for r in rows}, DEFAULT_THRESHOLDS).set_index("trajectory_id")
    assert list(qc["qc_pass"]) == [True, True, True, True, False]
    assert "20 fs simulated (41 frames of 0.5 fs) < 1 x nominal 30 fs" in qc.at["T5", "qc_reason"]


def test_a_batch_with_an_unreadable_run_and_a_truncated_one_passes_qc(small_demo, tmp_path):
    """One batch: a folder no reader recognises (excluded, its counts empty in the batch table), a symbolic link to
    another run (excluded as its duplicate), a dangling link (excluded, named) and runs QC truncates at their planted
    energy jump. The empty counts made the column text ('801.0') and QC stopped with a ValueError."""
    import shutil

    out, truth = small_demo
    ens = tmp_path / "ens"
    shutil.copytree(out / "ensemble", ens)
    (ens / "TRAJ900").mkdir()
    (ens / "TRAJ900" / "notes.txt").write_text("not a trajectory\n")
    (ens / "TRAJ901").symlink_to(ens / "TRAJ1")
    (ens / "TRAJ902").symlink_to(tmp_path / "purged" / "TRAJ902")
    table = ingest_batch(ens, tmp_path / "s.npz", tmp_path / "t.csv").set_index("trajectory_id")
    assert "the same files as TRAJ1 (a link to them)" in table.loc["TRAJ901", "reason"]
    assert "which does not exist" in table.loc["TRAJ902", "reason"]
    run_qc([tmp_path / "s.npz"], [tmp_path / "t.csv"], tmp_path / "qc.csv", tmp_path / "t.parquet", policy="truncate")
    merged = pd.read_parquet(tmp_path / "t.parquet").merge(truth, on="trajectory_id")
    jumped = merged[merged.broken == "energy_jump"]
    assert len(jumped) and (jumped.status == "ok").all()
    assert (jumped.n_frames_used == np.round(jumped.broken_at_fs / 0.5)).all()
    assert set(pd.read_parquet(tmp_path / "t.parquet").query("status == 'excluded'").trajectory_id) >= {"TRAJ900", "TRAJ901", "TRAJ902"}


def test_a_run_of_one_frame_is_too_short_in_words():
    from analysis.qc import DEFAULT_THRESHOLDS, qc_table

    rows = _rows(T4={"n_frames": 1, "duration_fs": 0.0, "time_step_fs": 0.0, "usable_frames": 1})
    qc = qc_table(rows, {f"T{k}": ("C", "H") for k in range(1, 5)}, DEFAULT_THRESHOLDS).set_index("trajectory_id")
    assert "0 fs simulated (1 frame) < 1 x nominal 49.5 fs" in qc.at["T4", "qc_reason"]


def test_copies_of_a_run_are_excluded_and_a_run_that_differs_in_one_digit_is_not(small_demo, tmp_path):
    """Eight copies of one cyclohexadiene run in one root gave 'no feature varies between the events' and a channel
    table of 8 identical events: a copied folder (or a run restarted from the same initial condition and seed) counts
    its channel twice."""
    import shutil

    out, truth = small_demo
    root = tmp_path / "ens"
    shutil.copytree(out / "ensemble", root)
    shutil.copytree(root / "TRAJ3", root / "TRAJ30")
    shutil.copytree(root / "TRAJ3", root / "TRAJ31")
    shutil.copytree(root / "TRAJ4", root / "TRAJ32")  # the last geometry's first coordinate changed in its last digit
    dyn = root / "TRAJ32" / "RESULTS" / "dyn.out"
    lines = dyn.read_text().splitlines(keepends=True)
    k = max(i for i, line in enumerate(lines) if "geometry:" in line) + 1
    fields = lines[k].split()
    digit = "1" if fields[2][-1] != "1" else "2"
    lines[k] = lines[k].replace(fields[2], fields[2][:-1] + digit, 1)
    dyn.write_text("".join(lines))
    stores, tables = [], []
    for b in range(2):  # copies in different batches are found too
        stores.append(tmp_path / f"{b}.npz")
        tables.append(tmp_path / f"{b}.csv")
        ingest_batch(root, stores[-1], tables[-1], batch=b, n_batches=2)
    run_qc(stores, tables, tmp_path / "qc.csv", tmp_path / "traj.parquet", policy="truncate")
    table = pd.read_parquet(tmp_path / "traj.parquet").set_index("trajectory_id")
    for copy in ("TRAJ30", "TRAJ31"):
        assert table.at[copy, "status"] == "excluded"
        assert table.at[copy, "reason"] == ("QC: a copy of TRAJ3 (the same times, states, energies and coordinates): "
                                            "analysed once, as TRAJ3")
    assert table.at["TRAJ32", "status"] == table.at["TRAJ4", "status"] == "ok"
    assert {t for t, reason in table["reason"].items() if "copy" in str(reason)} == {"TRAJ30", "TRAJ31"}
