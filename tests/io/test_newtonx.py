import numpy as np
import pytest

from analysis import demo
from analysis.io.errors import TrajectoryFormatError
from analysis.io.newtonx import read_dyn_out, read_newtonx, read_typeofdyn
from analysis.units import BOHR_TO_ANGSTROM, HARTREE_TO_EV
from tests.conftest import shared


def _write_one(tmp_path, truncate_at=None):
    xyz = demo.equilibrium_geometry()
    rng = np.random.default_rng(3)
    time_fs = np.arange(0, 20.5, 0.5)
    coords = xyz[None] + rng.normal(0, 0.05, size=(len(time_fs), len(xyz), 3))
    energies = demo.DemoPES(xyz).energies_ev(coords)
    active = np.where(time_fs < 7.5, 2, 1)
    pops = np.column_stack([np.zeros_like(time_fs), np.ones_like(time_fs), np.zeros_like(time_fs)])
    demo.write_newtonx_trajectory(tmp_path / "TRAJ1", demo.SYMBOLS, time_fs, coords, energies, active, pops, 0.5, truncate_at)
    return time_fs, coords, energies, active


def test_round_trip_demo_writer_to_reader(tmp_path):
    time_fs, coords, energies, active = _write_one(tmp_path)
    t = read_newtonx(tmp_path / "TRAJ1")
    assert t.n_frames == len(time_fs) and t.symbols == demo.SYMBOLS
    # dyn.out prints bohr with 8 decimals: round-trip error <= 0.5e-8 bohr, far below 1e-6 Å
    assert np.abs(t.coords_angstrom - coords).max() <= 1e-6
    # energies printed in hartree with 6 decimals
    assert np.abs(t.energies_ev - energies).max() <= 0.6e-6 * HARTREE_TO_EV
    np.testing.assert_array_equal(t.active_state, active)
    assert list(t.hops.itertuples(index=False, name=None)) == [(7.5, 15, 2, 1)]


def test_truncated_run_keeps_complete_frames_and_is_flagged(tmp_path):
    time_fs, coords, *_ = _write_one(tmp_path, truncate_at=10)
    t = read_newtonx(tmp_path / "TRAJ1")
    assert t.n_frames == 10
    assert "truncated" in t.flags
    assert np.abs(t.coords_angstrom - coords[:10]).max() <= 1e-6


def test_restart_repeated_time_keeps_last_complete_block(tmp_path):
    """STEP resets while TIME continues, and a crashed block repeats a time (FORMATS.md)."""
    _write_one(tmp_path)
    path = tmp_path / "TRAJ1" / "RESULTS" / "dyn.out"
    text = path.read_text()
    blocks = text.split("STEP")
    head, body = blocks[0], ["STEP" + b for b in blocks[1:]]
    crashed = body[6].split("  New velocity")[0]  # TIME = 3.00 geometry only
    restarted = [b.replace(b[:13], "STEP%9d" % (k + 1), 1) for k, b in enumerate(body[6:])]
    path.write_text(head + "".join(body[:7]) + crashed + "".join(restarted))
    t = read_newtonx(tmp_path / "TRAJ1")
    assert t.n_frames == 41
    assert np.all(np.diff(t.time_fs) > 0)


def test_crlf_line_endings_are_read(tmp_path):
    time_fs, coords, *_ = _write_one(tmp_path)
    res = tmp_path / "TRAJ1" / "RESULTS"
    for name in ("dyn.out", "en.dat", "typeofdyn.log"):
        p = res / name
        p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    t = read_newtonx(tmp_path / "TRAJ1")
    assert t.n_frames == len(time_fs)
    assert np.abs(t.coords_angstrom - coords).max() <= 1e-6


@pytest.mark.parametrize(
    "mutate, expected_line",
    [
        (lambda s: s.split("STEP")[0], 1),  # header only, no STEP block
        (lambda s: "", 1),
        (lambda s: "\x00\x01binary" + s, 1),
    ],
)
def test_malformed_dyn_out_raises_project_error_naming_file(tmp_path, mutate, expected_line):
    _write_one(tmp_path)
    p = tmp_path / "TRAJ1" / "RESULTS" / "dyn.out"
    p.write_text(mutate(p.read_text()))
    with pytest.raises(TrajectoryFormatError) as err:
        read_dyn_out(p)
    assert str(p) in str(err.value)
    if expected_line is not None:
        assert err.value.line == expected_line


def test_garbage_number_in_geometry_names_its_line(tmp_path):
    _write_one(tmp_path)
    p = tmp_path / "TRAJ1" / "RESULTS" / "dyn.out"
    lines = p.read_text().split("\n")
    idx = next(i for i, ln in enumerate(lines) if ln.startswith(" C ") and i > 200)
    parts = lines[idx].split()
    lines[idx] = f" {parts[0]:<2s}{6.0:7.1f}   1.2x345678{float(parts[3]):14.8f}{float(parts[4]):14.8f}{float(parts[5]):14.8f}"
    p.write_text("\n".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        read_dyn_out(p)
    assert err.value.line == idx + 1
    assert "1.2x345678" in str(err.value)


def test_real_cyclohexadiene_frames_and_hops_match_typeofdyn():
    folder = shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ1")
    t = read_newtonx(folder)
    assert (t.n_frames, t.n_atoms, t.n_states) == (801, 14, 3)
    # FORMATS.md: R02_a TRAJ1 hops S2 -> S1 (states 2 -> 1) at 44.00 fs
    assert list(t.hops[["time_fs", "from_state", "to_state"]].itertuples(index=False, name=None)) == [(44.0, 2, 1)]
    tod_t, tod_state = read_typeofdyn(folder / "RESULTS" / "typeofdyn.log")
    np.testing.assert_array_equal(t.active_state, tod_state)


def test_real_cyclohexadiene_dyn_out_agrees_with_dyn_xyz():
    folder = shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ2", "RESULTS")
    from analysis.io.newtonx import read_dyn_xyz

    a = read_dyn_out(folder / "dyn.out")
    b = read_dyn_xyz(folder / "dyn.xyz")
    assert a["coords_angstrom"].shape == b["coords_angstrom"].shape
    assert np.abs(a["coords_angstrom"] - b["coords_angstrom"]).max() <= 1e-4


def test_real_en_dat_energies_agree_with_dyn_out():
    folder = shared("newtonx", "cyclohexadiene_nx2.2", "TRAJ3", "RESULTS")
    from analysis.io.newtonx import read_en_dat

    a = read_dyn_out(folder / "dyn.out")
    e = read_en_dat(folder / "en.dat")
    assert len(e["time_fs"]) == len(a["time_fs"])
    assert np.abs(a["energies_hartree"] - e["energies_hartree"]).max() <= 2e-6


def test_real_pyrazine_hops_match_sh_out():
    import re

    for traj in ("TRAJ1", "TRAJ2", "TRAJ3"):
        folder = shared("newtonx", "pyrazine_nx2.6", traj)
        t = read_newtonx(folder)
        text = (folder / "RESULTS" / "sh.out").read_text()
        listed = [(int(c) * 0.5, int(a), int(b)) for a, b, c in
                  re.findall(r"CHANGES FROM\s+(\d+) TO\s+(\d+)\s+CYCLE COUNT:\s+(\d+)", text)]
        got = list(t.hops[["time_fs", "from_state", "to_state"]].itertuples(index=False, name=None))
        assert got == listed, traj


def test_real_cyclohexadiene_b_reads_dyn_xyz_without_dyn_out():
    folder = shared("newtonx", "cyclohexadiene_nx2.2_b", "TRAJ49")
    t = read_newtonx(folder)
    assert (t.n_frames, t.n_atoms, t.n_states) == (1601, 14, 3)
    assert np.isfinite(t.coords_angstrom).all()


def test_bohr_conversion_constant():
    assert abs(BOHR_TO_ANGSTROM - 0.529177210903) < 1e-12


def test_typeofdyn_threshold_fields_of_varying_width(tmp_path):
    """FORMATS.md: 'Threshold=****' and 'Threshold= 100.0' give different token counts; the regex copes."""
    path = tmp_path / "typeofdyn.log"
    path.write_text(
        "Time =     43.50   Threshold=****   PES = 2   DE_inf =  0.60   DE_sup =  2.06   Type = 4   Next type = 4\n"
        "Time =     44.00   Threshold=****   PES = 1   DE_inf = -----   DE_sup =  0.53   Type = 4   Next type = 3\n"
        "Time =    267.00   Threshold= 100.0   PES = 2   DE_inf =  3.66   DE_sup =  0.10   Type = 2   Next type = 4\n")
    t, pes = read_typeofdyn(path)
    np.testing.assert_array_equal(t, [43.5, 44.0, 267.0])
    np.testing.assert_array_equal(pes, [2, 1, 2])


def test_typeofdyn_time_that_is_no_number_names_its_line(tmp_path):
    path = tmp_path / "typeofdyn.log"
    path.write_text(
        "Time =     43.50   Threshold=****   PES = 2   DE_inf =  0.60   DE_sup =  2.06   Type = 4   Next type = 4\n"
        "Time =     44.0.0   Threshold=****   PES = 1   DE_inf = -----   DE_sup =  0.53   Type = 4   Next type = 3\n")
    with pytest.raises(TrajectoryFormatError) as err:
        read_typeofdyn(path)
    assert err.value.line == 2 and "44.0.0" in str(err.value)


@pytest.mark.parametrize("name", ["cyclohexadiene_nx2.2", "pyrazine_nx2.6"])
def test_a_run_without_en_dat_reads_its_energies_from_dyn_out(tmp_path, name):
    # dyn.out's energy lines hold en.dat's numbers; before, a run without en.dat was excluded as unreadable
    import shutil

    from analysis.io.discover import detect_format

    source = sorted(shared("newtonx", name).glob("TRAJ*"))[0]
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    (folder / "RESULTS" / "en.dat").write_text("")  # empty (the run died before its first row was flushed) ...
    assert read_newtonx(folder).flags == ["no_en.dat:energies_from_dyn.out"] + read_newtonx(source).flags
    (folder / "RESULTS" / "en.dat").unlink()  # ... or absent
    assert detect_format(folder) == "newtonx"
    full, partial = read_newtonx(source), read_newtonx(folder)
    assert partial.flags == ["no_en.dat:energies_from_dyn.out"] + full.flags
    np.testing.assert_array_equal(partial.active_state, full.active_state)
    np.testing.assert_allclose(partial.energies_ev, full.energies_ev, rtol=0, atol=1e-9)
    np.testing.assert_allclose(partial.total_energy_ev, full.total_energy_ev, rtol=0, atol=1e-9)
    (folder / "RESULTS" / "dyn.out").unlink()  # dyn.xyz alone has no energies: named, not guessed
    with pytest.raises(TrajectoryFormatError, match="en.dat"):
        read_newtonx(folder)


def test_an_overflowed_coordinate_in_dyn_out_is_nan_at_its_frame(tmp_path):
    import shutil

    source = shared("newtonx", "pyrazine_nx2.6", "TRAJ1")
    folder = tmp_path / "TRAJ1"
    shutil.copytree(source, folder)
    path = folder / "RESULTS" / "dyn.out"
    lines = path.read_text().splitlines()
    at = [i for i, line in enumerate(lines) if "New geometry" in line][150] + 1
    fields = lines[at].split()
    lines[at] = f"  {fields[0]}  {fields[1]}  **************  {fields[3]}  {fields[4]}  {fields[5]}"
    path.write_text("\n".join(lines) + "\n")
    t = read_newtonx(folder)
    assert list(np.flatnonzero(~np.isfinite(t.coords_angstrom).all(axis=(1, 2)))) == [151] and t.n_frames == 201
