"""SHARC reader against the real CH2NH2+, butene and CH2S outputs (v2.0, 2.1, 3.0 triplets, 4.0)."""

import numpy as np
import pytest

from analysis.io.errors import TrajectoryFormatError
from analysis.io.sharc import read_output_dat, read_output_lis, read_output_xyz, read_sharc, state_table
from analysis.units import HARTREE_TO_EV
from tests.conftest import shared

SETS = ["butene_sharc2.1", "ch2nh2_sharc2.0", "ch2nh2_sharc3.0_triplets", "ch2nh2_sharc4.0", "ch2s_sharc2", "ch2s_sharc2_full"]


def _folders():
    root = shared("sharc")
    return sorted(p for s in SETS for p in (root / s).glob("TRAJ_*"))


def _data_rows(lis_path):
    return [line.split() for line in lis_path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_every_sharc_trajectory_matches_its_own_listings():
    for folder in _folders():
        t = read_sharc(folder)
        rows = _data_rows(folder / "output.lis")
        xyz_frames = (folder / "output.xyz").read_text().count("t=")
        natom = int((folder / "output.xyz").read_text().split()[0])
        # frames: the times common to output.lis, output.xyz (and output.dat)
        assert t.n_frames == min(len(rows), xyz_frames), folder
        assert t.n_atoms == natom
        np.testing.assert_allclose(t.time_fs, [float(r[1]) for r in rows][: t.n_frames])
        np.testing.assert_array_equal(t.active_state, [int(r[2]) for r in rows][: t.n_frames])
        np.testing.assert_array_equal(t.extra["mch_state"], [int(r[3]) for r in rows][: t.n_frames])
        # hops: the '# Surface Hop' comment lines, in order, with their data row
        listed = []
        n_data = 0
        for line in (folder / "output.lis").read_text().splitlines():
            if line.startswith("#") and "Surface Hop" in line:
                new = int(line.split("new state=")[1].split()[0])
                old = int(line.split("old state=")[1].split()[0])
                listed.append((n_data, old, new))
            elif line.strip() and not line.startswith("#"):
                n_data += 1
        derived = list(zip(t.hops.frame, t.hops.from_state, t.hops.to_state))
        assert derived == [h for h in listed if h[0] < t.n_frames], folder


def test_state_counts_and_multiplicities_from_nstates():
    t = read_sharc(shared("sharc", "ch2nh2_sharc4.0", "TRAJ_00001"))
    assert t.n_states == 4 + 3 * 3  # nstates 4 0 3: 4 singlets + 3 triplets x 3 sublevels
    assert list(t.multiplicities) == [1] * 4 + [3] * 9
    assert list(t.extra["mch_labels"][:5]) == ["S0", "S1", "S2", "S3", "T1 (Ms=-1)"]
    assert set(np.unique(t.extra["active_multiplicity"])) <= {1, 3}
    t = read_sharc(shared("sharc", "butene_sharc2.1", "TRAJ_00002"))
    assert t.n_states == 3 and list(t.multiplicities) == [1, 1, 1]


def test_state_table_orders_by_multiplicity_then_ms():
    labels, mults = state_table([2, 0, 2])
    assert labels == ["S0", "S1", "T1 (Ms=-1)", "T2 (Ms=-1)", "T1 (Ms=+0)", "T2 (Ms=+0)", "T1 (Ms=+1)", "T2 (Ms=+1)"]
    assert list(mults) == [1, 1, 3, 3, 3, 3, 3, 3]
    labels, _ = state_table([0, 1])
    assert labels == ["D0 (Ms=-1/2)", "D0 (Ms=+1/2)"]


def test_output_xyz_and_output_dat_geometries_agree():
    for folder in [shared("sharc", "ch2nh2_sharc2.0", "TRAJ_00002"), shared("sharc", "ch2s_sharc2_full", "TRAJ_00015")]:
        dat = read_output_dat(folder / "output.dat")
        xyz = read_output_xyz(folder / "output.xyz")
        n = len(dat["step"])
        # output.dat: bohr with 13 significant digits; output.xyz: Å with 9 decimals
        assert np.abs(dat["coords_angstrom"] - xyz["coords_angstrom"][:n]).max() < 1e-8
        np.testing.assert_allclose(dat["step"] * dat["dt_fs"], xyz["time_fs"][:n], atol=2e-6)
        np.testing.assert_array_equal(dat["mch_state"], xyz["mch_state"][:n])


def test_diagonal_energies_from_the_hamiltonian_match_output_lis_epot():
    """Independent readings: eigenvalues of output.dat's MCH Hamiltonian (+ ezero) at the active diagonal
    state vs output.lis' Epot (+ ezero), printed to 1e-6 eV."""
    for folder in [shared("sharc", "ch2nh2_sharc2.0", "TRAJ_00002"), shared("sharc", "ch2s_sharc2_full", "TRAJ_00015")]:
        t = read_sharc(folder)
        frames = np.arange(t.n_frames)
        assert np.abs(t.energies_ev[frames, t.active_state - 1] - t.potential_energy_ev).max() < 5e-6
        assert np.allclose(t.populations.sum(axis=1), 1.0, atol=1e-6)


def test_epot_is_relative_to_ezero_from_input():
    folder = shared("sharc", "ch2nh2_sharc2.0", "TRAJ_00002")
    lis = read_output_lis(folder / "output.lis")
    t = read_sharc(folder)
    ezero = -94.7095344465  # 'ezero' in the input file
    assert t.potential_energy_ev[0] == pytest.approx(lis["epot_ev"][0] + ezero * HARTREE_TO_EV, abs=1e-9)
    assert "energies_relative_to_ezero" not in t.flags


def test_extra_xyz_frames_are_trimmed_and_flagged():
    t = read_sharc(shared("sharc", "ch2s_sharc2_full", "TRAJ_00015"))
    assert t.n_frames == 170 and "output.xyz_extra_frames=1831" in t.flags


def test_crashed_run_marker_is_flagged():
    t = read_sharc(shared("sharc", "ch2nh2_sharc2.0", "TRAJ_00009"))
    assert "DONT_ANALYZE" in t.flags and t.n_frames == 173


def test_without_input_or_dat_energies_are_relative_and_flagged():
    t = read_sharc(shared("sharc", "ch2s_sharc2", "TRAJ_00028"))
    assert {"n_states_from_max_state", "energies_relative_to_ezero"} <= set(t.flags)
    assert np.isnan(t.energies_ev).all() and np.isfinite(t.potential_energy_ev).all()


def test_garbage_in_output_lis_names_the_line(tmp_path):
    src = shared("sharc", "butene_sharc2.1", "TRAJ_00002")
    for name in ("output.lis", "output.xyz", "input"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    lines = (tmp_path / "output.lis").read_text().splitlines(keepends=True)
    lines[20] = lines[20].replace("1.", "x.", 1)
    (tmp_path / "output.lis").write_text("".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        read_sharc(tmp_path)
    assert err.value.line == 21 and err.value.path.endswith("output.lis")


@pytest.mark.parametrize("kill_after, stopped", [(None, False), (50.0, True), (84.0, True), (100.0, False)])
def test_a_run_stopped_by_killafter_is_flagged_as_complete(tmp_path, kill_after, stopped):
    """Butene TRAJ_00003 is in its lowest state (diag 1) from 66 fs to its end at 150 fs: 84 fs. With SHARC's
    ``killafter`` at or below that (less 1.5 steps of 0.5 fs) the run stopped itself, complete; without the keyword,
    or with a longer one, nothing is said."""
    import shutil

    from analysis.io.trajectory import STOPPED_FLAG

    folder = tmp_path / "TRAJ_00003"
    shutil.copytree(shared("sharc", "butene_sharc2.1", "TRAJ_00003"), folder)
    if kill_after is not None:
        (folder / "input").write_text((folder / "input").read_text() + f"killafter {kill_after}\n")
    t = read_sharc(folder)
    assert t.active_state[-1] == 1 and t.time_fs[np.flatnonzero(t.active_state != 1)[-1] + 1] == 66.0
    flags = [f for f in t.flags if f.startswith(STOPPED_FLAG)]
    assert flags == ([f"{STOPPED_FLAG}: killafter {kill_after:g} fs in the lowest state"] if stopped else [])


@pytest.mark.parametrize("kept, flag", [(("output.dat", "output.xyz", "input"), "no_output.lis:states_and_energies_from_output.dat"),
                                        (("output.dat",), "no_output.lis:states_and_energies_from_output.dat"),
                                        (("output.xyz", "input"), "no_output.lis:no_energies")])
def test_a_run_without_output_lis_reads_as_sharc_from_its_other_files(tmp_path, kept, flag):
    # output.dat holds the steps, states and energies output.lis lists (SHARC's data_extractor reads it alone); before,
    # such a folder was read as a plain XYZ file with every frame on state 1: no hop, no channel
    import shutil

    from analysis.io.discover import detect_format

    name = "ch2s_sharc2_full" if "output.dat" in kept else "ch2nh2_sharc4.0"
    source = sorted(shared("sharc", name).glob("TRAJ_*"))[0]
    folder = tmp_path / source.name
    folder.mkdir()
    for file in kept:
        shutil.copy(source / file, folder / file)
    assert detect_format(folder) == "sharc"
    full, partial = read_sharc(source), read_sharc(folder)
    assert flag in partial.flags and partial.n_frames == full.n_frames
    np.testing.assert_allclose(partial.time_fs, full.time_fs, atol=1e-5)
    np.testing.assert_array_equal(partial.active_state, full.active_state)
    np.testing.assert_allclose(partial.coords_angstrom, full.coords_angstrom, atol=1e-6)
    assert [tuple(h) for h in partial.hops.itertuples(index=False)] == [tuple(h) for h in full.hops.itertuples(index=False)]
    if "output.dat" in kept:  # Epot of the active state and Etot = Ekin + Epot, as output.lis prints them (to its 1e-6 eV digits)
        np.testing.assert_allclose(partial.potential_energy_ev, full.potential_energy_ev, atol=5e-6)
        np.testing.assert_allclose(partial.total_energy_ev, full.total_energy_ev, atol=5e-6)
    else:
        assert np.isnan(partial.total_energy_ev).all() and np.isnan(partial.energies_ev).all()


def test_an_output_dat_of_another_program_beside_an_xyz_stays_plain_xyz(tmp_path):
    from analysis.io.discover import detect_format

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "output.dat").write_text("step energy\n1 -1.0\n")
    (tmp_path / "run" / "traj.xyz").write_text("2\nt=0\nH 0 0 0\nH 0 0 0.74\n")
    assert detect_format(tmp_path / "run") == "xyz"


def test_output_lis_without_any_geometry_file_is_named(tmp_path):
    # the reader failed inside with an UnboundLocalError ('sharc reader failed') instead of naming what is missing
    import shutil

    source = sorted(shared("sharc", "ch2nh2_sharc4.0").glob("TRAJ_*"))[0]
    (tmp_path / "T").mkdir()
    shutil.copy(source / "output.lis", tmp_path / "T" / "output.lis")
    with pytest.raises(TrajectoryFormatError, match="expected output.xyz or output.dat") as err:
        read_sharc(tmp_path / "T")
    assert err.value.path.endswith("output.xyz")
