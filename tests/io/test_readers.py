"""PyRAI2MD, NEXMD and plain-XYZ readers, format detection, and MDAnalysis interop."""

import numpy as np
import pytest

from analysis import demo
from analysis.io.discover import discover, READERS
from analysis.io.errors import TrajectoryFormatError
from analysis.io.mda import to_universe
from analysis.io.nexmd import read_hops_out, read_nexmd
from analysis.io.pyrai2md import read_pyrai2md
from analysis.io.trajectory import Trajectory, last_per_key, shared_rows
from analysis.io.xyz import read_xyz
from analysis.units import AU_TIME_TO_FS, HARTREE_TO_EV
from tests.conftest import shared


def test_pyrai2md_frames_states_and_hops_match_its_files():
    for folder in sorted(shared("pyrai2md", "ch2nh2").glob("traj*")):
        t = read_pyrai2md(folder)
        rows = [line.split() for line in (folder / "mai.md.energies").read_text().splitlines()[1:] if line.strip()]
        assert t.n_frames == len(rows) == 200 and t.n_atoms == 6 and t.n_states == len(rows[0]) - 4 == 3
        # md.energies time is iteration x dt in a.u.; iteration 1 is the initial geometry at t = 0
        dt_au = float(rows[1][0]) - float(rows[0][0])
        np.testing.assert_allclose(t.time_fs, (np.arange(200)) * dt_au * AU_TIME_TO_FS)
        initial = np.loadtxt(folder / "mai.xyz", skiprows=2, usecols=(1, 2, 3))
        assert np.abs(t.coords_angstrom[0] - initial).max() < 1e-8
        np.testing.assert_allclose(t.energies_ev / HARTREE_TO_EV, np.array(rows, dtype=float)[:, 4:], rtol=0, atol=1e-12)
        # hops: one per sh.energies row, at the same iteration (time / dt)
        sh = [line.split() for line in (folder / "mai.sh.energies").read_text().splitlines()[1:] if line.strip()]
        sh_iter = [round(float(r[0]) / dt_au) for r in sh]
        assert [f + 1 for f in t.hops.frame] == sh_iter  # frame k = iteration k + 1
        assert not t.flags


def test_pyrai2md_hop_sequence_follows_the_xyz_comments():
    t = read_pyrai2md(shared("pyrai2md", "ch2nh2", "traj3"))
    # mai.sh.xyz: coord 140 state 2 to 3, 177 3 to 2, 180 2 to 3, 190 3 to 2
    assert list(zip(t.hops.frame + 1, t.hops.from_state, t.hops.to_state)) == [(140, 2, 3), (177, 3, 2), (180, 2, 3), (190, 3, 2)]
    assert t.active_state[139] == 3 and t.extra["step_state"][139] == 2  # post-hop vs the state the step ran on


def test_nexmd_benzene_matches_hops_out_and_pes():
    folder = shared("nexmd", "benzene", "reference_output")
    t = read_nexmd(folder)
    assert (t.n_frames, t.n_atoms, t.n_states) == (201, 12, 5)  # ground + 4 excited states
    events = read_hops_out(folder / "hops.out")
    assert events == [(0.3, 3, 4), (0.5, 4, 3)]
    assert [(round(h.time_fs, 6), h.from_state - 1, h.to_state - 1) for h in t.hops.itertuples()] == events
    assert t.active_state[0] == 3 + 1  # exc_state_init=3 in input.ceon
    # energy-ev.out's U is the active-state energy of pes.out
    u = np.loadtxt(folder / "energy-ev.out", comments="#")[:, 3]
    np.testing.assert_allclose(t.potential_energy_ev, u, atol=2e-5)
    assert np.allclose(t.populations.sum(axis=1), 1.0, atol=1e-6)
    assert not t.flags


def _write_xyz(folder, coords, symbols, comment="frame"):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "traj.xyz", "w") as fh:
        for frame in coords:
            fh.write(f"{len(symbols)}\n{comment}\n")
            fh.writelines(f"{s} {x:.8f} {y:.8f} {z:.8f}\n" for s, (x, y, z) in zip(symbols, frame))


def test_plain_xyz_with_properties_csv(tmp_path):
    xyz = demo.equilibrium_geometry()
    coords = xyz[None] + np.random.default_rng(0).normal(0, 0.02, (6, len(xyz), 3))
    folder = tmp_path / "run1"
    _write_xyz(folder, coords, demo.SYMBOLS)
    (folder / "props.csv").write_text("time_fs,active_state,e1_ev,e2_ev,etot_ev\n" + "".join(
        f"{0.5 * i},{2 if i < 3 else 1},{-1.0 + i},{1.0 + i},5.0\n" for i in range(6)))
    t = read_xyz(folder)
    assert np.abs(t.coords_angstrom - coords).max() < 1e-5  # MDAnalysis keeps float32
    np.testing.assert_allclose(t.time_fs, 0.5 * np.arange(6))
    assert list(zip(t.hops.time_fs, t.hops.from_state, t.hops.to_state)) == [(1.5, 2, 1)]
    np.testing.assert_allclose(t.potential_energy_ev, [1.0, 2.0, 3.0, 2.0, 3.0, 4.0])
    assert discover(tmp_path) == [("run1", folder, "xyz")]


def test_plain_xyz_errors_name_file_and_line(tmp_path):
    xyz = demo.equilibrium_geometry()
    folder = tmp_path / "run1"
    _write_xyz(folder, np.repeat(xyz[None], 3, axis=0), demo.SYMBOLS)
    lines = (folder / "traj.xyz").read_text().splitlines(keepends=True)
    lines[len(xyz) + 2] = "12\n"  # wrong atom count in frame 2
    (folder / "traj.xyz").write_text("".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        read_xyz(folder)
    assert err.value.line == len(xyz) + 3
    _write_xyz(folder, np.repeat(xyz[None], 3, axis=0), demo.SYMBOLS)
    (folder / "p.csv").write_text("time_fs,active_state\n0,1\n0.5,x\n1.0,1\n")
    with pytest.raises(TrajectoryFormatError) as err:
        read_xyz(folder)
    assert err.value.line == 3 and err.value.path.endswith("p.csv")
    # a blank line after every frame: named where the second frame should start, not as an incomplete last frame
    (folder / "p.csv").unlink()
    frames = (folder / "traj.xyz").read_text().splitlines(keepends=True)
    per = len(xyz) + 2
    (folder / "traj.xyz").write_text("".join("".join(frames[k:k + per]) + "\n" for k in range(0, len(frames), per)))
    with pytest.raises(TrajectoryFormatError, match="atom count line of a frame") as err:
        read_xyz(folder)
    assert err.value.line == per + 1


def test_auto_detection_recognises_every_real_format():
    expected = {"newtonx/cyclohexadiene_nx2.2": "newtonx", "newtonx/cyclohexadiene_nx2.2_b": "newtonx",
                "newtonx/pyrazine_nx2.6": "newtonx", "sharc/ch2nh2_sharc2.0": "sharc", "sharc/butene_sharc2.1": "sharc",
                "pyrai2md/ch2nh2": "pyrai2md", "nexmd/benzene": "nexmd"}
    for root, fmt in expected.items():
        found = discover(shared(*root.split("/")))
        assert found and {f for _, _, f in found} == {fmt}, root
        ids = [tid for tid, _, _ in found]
        assert ids == sorted(ids, key=lambda s: [int(x) if x.isdigit() else x for x in __import__("re").split(r"(\d+)", s)])
    ids = [tid for tid, _, _ in discover(shared("newtonx", "pyrazine_nx2.6"))]
    assert ids == ["TRAJ1", "TRAJ2", "TRAJ3", "TRAJ14", "TRAJ99"]  # natural order


def test_to_universe_has_elements_masses_bonds_and_frames():
    xyz = demo.equilibrium_geometry()
    n = 4
    t = Trajectory("T1", "", "demo", list(demo.SYMBOLS), np.ones(len(xyz)), 0.5 * np.arange(n),
                   np.repeat(xyz[None], n, axis=0), np.ones(n, dtype=int), np.zeros((n, 2)), np.zeros(n))
    u = to_universe(t)
    assert u.trajectory.n_frames == n and list(u.atoms.elements) == list(demo.SYMBOLS)
    assert u.atoms.names[0] == "N1" and u.trajectory.dt == pytest.approx(0.0005)  # ps
    # cytosine: 13 atoms, one ring -> 13 bonds (every atom bonded, one cycle)
    assert len(u.bonds) == 13
    np.testing.assert_allclose(u.trajectory[2].positions, xyz, atol=1e-5)


def test_to_universe_on_real_cyclohexadiene_runs_an_mdanalysis_analysis():
    from MDAnalysis.analysis.rms import RMSD

    t = READERS["newtonx"](shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ1"))
    u = to_universe(t)
    assert len(u.bonds) == 14  # C6H8: 6 ring C-C + 8 C-H
    rmsd = RMSD(u, select="all").run(step=100).results.rmsd
    assert rmsd.shape == (9, 3) and rmsd[0, 2] == pytest.approx(0.0, abs=1e-6) and rmsd[-1, 2] > 0.1


def test_pyrai2md_inconsistent_file_set_is_flagged_and_excluded_by_qc(tmp_path):
    """FORMATS.md: some PyRAI2MD file sets disagree with themselves; cross-check, never trust one file."""
    import shutil

    from analysis.qc import DEFAULT_EXCLUDE_FLAGS

    src = shared("pyrai2md", "ch2nh2", "traj1")
    folder = tmp_path / "traj1"
    shutil.copytree(src, folder)
    text = (folder / "mai.md.xyz").read_text().replace("mai coord 50 state 2\n", "mai coord 50 state 3\n")
    (folder / "mai.md.xyz").write_text(text)
    t = read_pyrai2md(folder)
    assert "md.xyz_state_vs_md.energies_epot_mismatch" in t.flags
    assert any(f.startswith(tuple(DEFAULT_EXCLUDE_FLAGS)) for f in t.flags)


def test_restarted_series_keep_their_last_row_per_time_and_align_on_shared_times():
    # a run restarted at t = 1.0: rows for 1.0 and 1.5 are written twice; the second copies win
    times = np.array([0.0, 0.5, 1.0, 1.5, 1.0, 1.5, 2.0])
    unique, last = last_per_key(times)
    assert unique.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0] and last.tolist() == [0, 1, 4, 5, 6]
    other = np.array([2.0, 0.5, 1.0, 3.0])  # another file of the same run, unsorted, one extra time
    common, (rows_a, rows_b), n_most = shared_rows(times, other)
    assert common.tolist() == [0.5, 1.0, 2.0]
    assert rows_a.tolist() == [1, 4, 6] and rows_b.tolist() == [1, 2, 0]
    assert n_most == 5
    assert shared_rows(times, np.array([9.0]))[0].size == 0


def test_the_same_trajectories_as_newtonx_and_as_xyz_plus_csv_read_alike(small_demo, tmp_path):
    """A planted ensemble rewritten in another format must give the same frames, states and hops (the whole
    pipeline then gives byte-identical assignments: measured on a 40-trajectory demo)."""
    import pandas as pd

    from analysis.io.newtonx import read_newtonx
    from analysis.io.text import format_xyz
    from analysis.io.trajectory import hop_frames
    from analysis.io.xyz import read_xyz

    out, truth = small_demo
    for tid in truth.loc[truth.broken == "", "trajectory_id"][:4]:
        nx = read_newtonx(out / "ensemble" / tid)
        folder = tmp_path / tid
        folder.mkdir()
        (folder / "traj.xyz").write_text(format_xyz(nx.coords_angstrom, nx.symbols, [f"t={t}" for t in nx.time_fs], decimals=8))
        table = pd.DataFrame({"time_fs": nx.time_fs, "active_state": nx.active_state, "etot_ev": nx.total_energy_ev})
        for k in range(nx.energies_ev.shape[1]):
            table.insert(2 + k, f"e{k + 1}_ev", nx.energies_ev[:, k])
        table.to_csv(folder / "traj.csv", index=False)
        xyz = read_xyz(folder)
        assert xyz.symbols == nx.symbols and np.array_equal(xyz.time_fs, nx.time_fs)
        assert np.array_equal(xyz.active_state, nx.active_state) and np.array_equal(hop_frames(xyz.active_state), hop_frames(nx.active_state))
        np.testing.assert_allclose(xyz.coords_angstrom, nx.coords_angstrom, atol=1e-6)  # MDAnalysis reads float32
        np.testing.assert_array_equal(xyz.energies_ev, nx.energies_ev)
        np.testing.assert_array_equal(xyz.total_energy_ev, nx.total_energy_ev)


@pytest.mark.parametrize("comment, time_fs, state", [
    ("Time = {t:.2f}", True, None),                           # Newton-X dyn.xyz
    ("mol coord {k} state {s}", False, "1-based"),            # PyRAI2MD md.xyz
    ("t= {t:.5f}    9    3", True, None),                     # SHARC output.xyz: the numbers after t= are not states
    ('time={t} state={s0} energy=-1.5 pbc="F F F"', True, "0-based"),  # extended XYZ, S0 = 0
])
def test_plain_xyz_reads_time_and_state_from_its_comment_lines(tmp_path, comment, time_fs, state):
    """Without a CSV the frames' comments give time (fs) and the active state, where every frame has them; the
    known answer is what was written: times 0, 0.5, … and a hop 2 → 1 after the third frame."""
    xyz = demo.equilibrium_geometry()
    folder = tmp_path / "run1"
    folder.mkdir()
    states = [2, 2, 2, 1, 1, 1]
    text = "".join(f"{len(xyz)}\n{comment.format(t=0.5 * k, k=k + 1, s=s, s0=s - 1)}\n"
                   + "".join(f"{sym} {x:.6f} {y:.6f} {z:.6f}\n" for sym, (x, y, z) in zip(demo.SYMBOLS, xyz))
                   for k, s in enumerate(states))
    (folder / "traj.xyz").write_text(text)
    t = read_xyz(folder)
    if time_fs:
        np.testing.assert_allclose(t.time_fs, 0.5 * np.arange(6))
        assert "time_from_comment" in t.flags and "time_is_frame_index" not in t.flags
    else:
        assert "time_is_frame_index" in t.flags
    if state:
        assert list(t.active_state) == states and "state_from_comment" in t.flags
        assert len(t.hops.time_fs) == 1 and (t.hops.from_state[0], t.hops.to_state[0]) == (2, 1)
    else:
        assert set(t.active_state) == {1} and "state_from_comment" not in t.flags


def test_pyrai2md_times_printed_to_0_01_au_with_a_step_of_0_5_fs_are_read(tmp_path):
    """A step of 0.5 fs is 20.6707 a.u.; PyRAI2MD prints times to 0.01 a.u. (20.67, 41.34, ..., 785.49), which drift
    from multiples of the printed difference 20.67 by 0.03 a.u. at step 38. Written independently here: 300 steps,
    two states, one hop 2 -> 1 at step 120 ('to 1 CI', listed in sh.energies)."""
    dt_au = 0.5 / AU_TIME_TO_FS
    steps = np.arange(1, 301)
    state = np.where(steps <= 120, 2, 1)  # the state each step ran on; the hop is decided at step 120
    e = np.column_stack([-100.0 + 0.001 * np.sin(steps / 7), -99.9 + 0.001 * np.cos(steps / 5)])
    epot = e[np.arange(300), state - 1]
    head = f"{'time':>20s}{'Epot':>28s}{'Ekin':>28s}{'Etot':>28s}{'Epot1,2,3...':>28s}\n"
    rows = [f"{k * dt_au:20.2f}{p:28.16f}{0.05:28.16f}{p + 0.05:28.16f}{a:28.16f}{b:28.16f}\n"
            for k, p, (a, b) in zip(steps, epot, e)]
    (tmp_path / "mol.md.energies").write_text(head + "".join(rows))
    (tmp_path / "mol.sh.energies").write_text(head + rows[119])
    frames = [f"3\nmol coord {k} state {s}{' to 1 CI' if k == 120 else ''}\nO 0.0 0.0 {0.1 + 0.0001 * k:.6f}\n"
              f"H 0.757 0.586 0.0\nH -0.757 0.586 0.0\n" for k, s in zip(steps, state)]
    (tmp_path / "mol.md.xyz").write_text("".join(frames))
    t = read_pyrai2md(tmp_path)
    assert len(t.time_fs) == 300 and not t.flags
    np.testing.assert_allclose(np.diff(t.time_fs), 0.5, atol=1e-4)
    assert list(t.active_state[118:121]) == [2, 1, 1] and t.active_state[-1] == 1


ATOMIC_NUMBER = {"C": 6, "N": 7, "O": 8, "H": 1, "S": 16}


@pytest.mark.parametrize("style", ["lower", "label", "number"])
def test_plain_xyz_atoms_written_as_labels_or_atomic_numbers_read_as_elements(tmp_path, style):
    # 'C1'/'H12' (GaussView, Molden), '6'/'1' (atomic numbers) and 'c' all name the element; read before as 'C1'/'6'
    xyz = demo.equilibrium_geometry()
    names = {"lower": [s.lower() for s in demo.SYMBOLS], "label": [f"{s}{k + 1}" for k, s in enumerate(demo.SYMBOLS)],
             "number": [str(ATOMIC_NUMBER[s]) for s in demo.SYMBOLS]}[style]
    folder = tmp_path / "run1"
    _write_xyz(folder, np.repeat(xyz[None], 3, axis=0), names)
    assert read_xyz(folder).symbols == list(demo.SYMBOLS)
    from analysis.io.text import read_xyz_frames  # the PyRAI2MD and NEXMD readers' XYZ path
    assert read_xyz_frames(folder / "traj.xyz")["symbols"] == list(demo.SYMBOLS)


def test_an_atom_that_names_no_element_is_refused_with_its_line(tmp_path):
    xyz = demo.equilibrium_geometry()
    names = list(demo.SYMBOLS)
    names[2] = "X"  # a dummy atom
    folder = tmp_path / "run1"
    _write_xyz(folder, np.repeat(xyz[None], 2, axis=0), names)
    with pytest.raises(TrajectoryFormatError, match="atomic number or atom label.*'X'") as err:
        read_xyz(folder)
    assert err.value.line == 5 and err.value.path.endswith("traj.xyz")


def test_element_of_reads_symbols_numbers_labels_and_hydrogen_isotopes():
    from analysis.elements import element_of

    tokens = ["c", "CL", "6", "17", "C1", "H12", "Cl_3", "H1A", "HA1", "Br2", "D", "X", "Bq", "0", "99", "1x"]
    assert [element_of(t) for t in tokens] == ["C", "Cl", "C", "Cl", "C", "H", "Cl", "H", "H", "Br", "H", None, None, None,
                                                None, None]


def test_a_fortran_overflow_field_reads_as_nan_where_it_was_written(tmp_path):
    # '**********': a coordinate overflowed its format (the run blew up). It excluded the whole trajectory; read as
    # NaN, QC keeps the frames before it. MDAnalysis alone reads such a line as garbage numbers (7.7e31): the
    # layout check's own parse marks the frame
    from analysis.io.text import read_xyz_frames

    xyz = demo.equilibrium_geometry()
    folder = tmp_path / "run1"
    _write_xyz(folder, np.repeat(xyz[None], 4, axis=0), demo.SYMBOLS, comment="time=0")
    lines = (folder / "traj.xyz").read_text().splitlines(keepends=True)
    per = len(xyz) + 2
    for frame in (2, 3):
        fields = lines[frame * per + 3].split()
        lines[frame * per + 3] = f"{fields[0]} ********** {fields[2]} {fields[3]}\n"
    (folder / "traj.xyz").write_text("".join(lines))
    for coords in (read_xyz(folder).coords_angstrom, read_xyz_frames(folder / "traj.xyz")["coords_angstrom"]):
        bad = ~np.isfinite(coords).all(axis=(1, 2))
        assert list(bad) == [False, False, True, True]
        np.testing.assert_allclose(coords[:2], np.repeat(xyz[None], 2, axis=0), atol=1e-5)


def test_a_properties_csv_saved_with_a_byte_order_mark_is_read(tmp_path):
    # a spreadsheet's "CSV UTF-8" starts with EF BB BF: the trajectory was excluded ("plain ASCII text, found 0xef")
    xyz = demo.equilibrium_geometry()
    folder = tmp_path / "run1"
    _write_xyz(folder, np.repeat(xyz[None], 3, axis=0), demo.SYMBOLS)
    (folder / "props.csv").write_bytes(b"\xef\xbb\xbftime_fs,active_state\r\n0,2\r\n0.5,2\r\n1.0,1\r\n")
    t = read_xyz(folder)
    np.testing.assert_allclose(t.time_fs, [0.0, 0.5, 1.0])
    assert list(t.active_state) == [2, 2, 1]


@pytest.mark.parametrize("line_end", [b"\r\r\n", b"\r"])
def test_newtonx_files_with_doubled_or_classic_mac_line_ends_read_as_with_plain_ones(tmp_path, line_end):
    """A CRLF file converted to CRLF once more (CR CR LF: every dyn.out line read as two, the trajectory excluded
    at line 18) and CR-only line ends read exactly as the LF original."""
    from tests.conftest import write_nx_ensemble
    from analysis.io.newtonx import read_newtonx

    write_nx_ensemble(tmp_path / "lf", [True], t_max_fs=10.0)
    plain = read_newtonx(tmp_path / "lf" / "TRAJ1")
    converted = tmp_path / "other" / "TRAJ1" / "RESULTS"
    converted.mkdir(parents=True)
    for f in (tmp_path / "lf" / "TRAJ1" / "RESULTS").iterdir():
        (converted / f.name).write_bytes(f.read_bytes().replace(b"\n", line_end))
    t = read_newtonx(converted.parent)
    np.testing.assert_array_equal(t.coords_angstrom, plain.coords_angstrom)
    np.testing.assert_array_equal(t.energies_ev, plain.energies_ev)
    np.testing.assert_array_equal(t.active_state, plain.active_state)


@pytest.mark.parametrize("times_in", ["comments", "csv"])
def test_a_restarted_xyz_run_written_on_keeps_the_frames_of_its_restart(tmp_path, times_in):
    """0-50 fs, then a restart from the 40 fs checkpoint written on to 100 fs in the same file: the frames at 40-50 fs
    are the restart's (the last written), 201 frames at 0.5 fs. Before, the decreasing times made the reader fall
    back to the frame index as time (222 'fs'), with a warning only."""
    xyz = demo.equilibrium_geometry()
    times = np.r_[np.arange(0, 50.01, 0.5), np.arange(40, 100.01, 0.5)]
    coords = xyz[None] + 0.001 * np.arange(len(times))[:, None, None]  # frame k is shifted by k mÅ
    folder = tmp_path / "run1"
    folder.mkdir()
    with open(folder / "traj.xyz", "w") as fh:
        for t, frame in zip(times, coords):
            fh.write(f"{len(xyz)}\n" + (f"time={t:.2f} state={2 if t < 70 else 1}" if times_in == "comments" else "frame") + "\n")
            fh.writelines(f"{s} {x:.8f} {y:.8f} {z:.8f}\n" for s, (x, y, z) in zip(demo.SYMBOLS, frame))
    if times_in == "csv":
        (folder / "props.csv").write_text("time_fs,active_state\n" + "".join(f"{t},{2 if t < 70 else 1}\n" for t in times))
    t = read_xyz(folder)
    np.testing.assert_allclose(t.time_fs, np.arange(0, 100.01, 0.5))
    at_40 = int(np.flatnonzero(times == 40.0)[1])  # the restart's own 40 fs frame
    np.testing.assert_allclose(t.coords_angstrom[80], coords[at_40], atol=1e-6)
    np.testing.assert_allclose(t.coords_angstrom[79], coords[79], atol=1e-6)
    assert list(t.active_state[[0, 139, 140]]) == [2, 2, 1]
    assert "restarted:21_frames_superseded" in t.flags and "time_is_frame_index" not in t.flags


def test_written_xyz_comments_are_plain_ascii_and_read_back():
    from analysis.io.text import format_xyz

    text = format_xyz(np.zeros((2, 3)), ["H", "H"], ["S1→S0 channel A1 predicted S0=-1.0±0.1 eV, σ 0.2 Å, 30°"])
    assert text.splitlines()[1] == "S1->S0 channel A1 predicted S0=-1.0+/-0.1 eV, sigma 0.2 A, 30 deg"
    text.encode("ascii")  # raises if not
