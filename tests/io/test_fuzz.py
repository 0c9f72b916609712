"""Broken input: readers either return a consistent trajectory or raise TrajectoryFormatError naming the
file (and line); never another exception. Hypothesis mutates dyn.out; a seeded corpus corrupts real files."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import demo
from analysis.io.discover import READERS
from analysis.io.errors import TrajectoryFormatError
from analysis.io.newtonx import _read_dyn_out_exact, _read_dyn_out_fast, read_dyn_out
from tests.conftest import shared
from tests.fuzz_corpus import CORRUPTIONS, make_variant

REAL = [  # (format, folder parts, files the reader uses)
    ("newtonx", ("newtonx", "pyrazine_nx2.6", "TRAJ14"), ["RESULTS/dyn.out", "RESULTS/en.dat", "RESULTS/typeofdyn.log"]),
    ("newtonx", ("newtonx", "cyclohexadiene_nx2.2_b", "TRAJ49"), ["RESULTS/dyn.xyz", "RESULTS/en.dat"]),
    ("sharc", ("sharc", "ch2nh2_sharc2.0", "TRAJ_00006"), ["output.lis", "output.xyz", "output.dat", "input"]),
    ("pyrai2md", ("pyrai2md", "ch2nh2", "traj3"), ["mai.md.energies", "mai.md.xyz", "mai.sh.energies"]),
    ("nexmd", ("nexmd", "benzene", "reference_output"), ["coords.xyz", "pes.out", "coeff-n.out", "hops.out", "energy-ev.out"]),
]


def _check_consistent(t):
    n = t.n_frames
    assert n >= 1
    assert t.coords_angstrom.shape == (n, t.n_atoms, 3)
    assert t.active_state.shape == (n,) and t.energies_ev.shape[0] == n and t.total_energy_ev.shape == (n,)
    assert t.active_state.min() >= 1 and t.active_state.max() <= t.n_states
    assert np.all(np.diff(t.time_fs) > 0)


def _run_reader(fmt, folder):
    try:
        t = READERS[fmt](folder)
    except TrajectoryFormatError as err:
        assert err.path and str(folder) in err.path and err.expected
        return "error", err
    _check_consistent(t)
    return "read", t


@pytest.mark.parametrize("fmt,parts,files", REAL, ids=["/".join(p[1][1:]) for p in REAL])
def test_corrupted_real_files_give_the_project_exception_or_a_consistent_trajectory(tmp_path, fmt, parts, files):
    source = shared(*parts)
    outcomes = {"error": 0, "read": 0}
    seed = 0
    for file_name in files:
        for kind in CORRUPTIONS:
            for _ in range(3 if kind in ("truncate", "garbage_line", "nan", "drop_line") else 1):
                seed += 1
                folder = make_variant(source, tmp_path / f"v{seed}", file_name, kind, seed)
                what, result = _run_reader(fmt, folder)
                outcomes[what] += 1
                if what == "error" and kind in ("empty", "binary"):
                    assert result.line is not None, result
    assert outcomes["error"] > 0 and outcomes["read"] > 0, outcomes


def _small_dyn_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dyn")
    xyz = demo.equilibrium_geometry()
    time_fs = np.arange(0, 3.5, 0.5)
    coords = xyz[None] + np.random.default_rng(5).normal(0, 0.03, (len(time_fs), len(xyz), 3))
    energies = demo.DemoPES(xyz).energies_ev(coords)
    pops = np.tile([0.0, 1.0, 0.0], (len(time_fs), 1))
    demo.write_newtonx_trajectory(folder / "TRAJ1", demo.SYMBOLS, time_fs, coords, energies, np.full(len(time_fs), 2), pops, 0.5)
    return (folder / "TRAJ1" / "RESULTS" / "dyn.out").read_text()


@pytest.fixture(scope="module")
def dyn_text(tmp_path_factory):
    return _small_dyn_out(tmp_path_factory)


_line_edit = st.tuples(
    st.sampled_from(["replace", "delete", "insert", "duplicate"]),
    st.integers(min_value=0, max_value=10_000),
    st.text(alphabet=st.sampled_from(list("STEP %0123456789.-+eE:=abcNnaIi\t ")), max_size=60),
)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_line_edit, min_size=1, max_size=4))
def test_dyn_out_mutations_only_raise_the_project_error_and_both_readers_agree(dyn_text, tmp_path, edits):
    lines = dyn_text.splitlines(keepends=True)
    for op, pos, text in edits:
        i = pos % max(len(lines), 1)
        if op == "replace" and lines:
            lines[i] = text + "\n"
        elif op == "delete" and lines:
            del lines[i]
        elif op == "insert":
            lines.insert(i, text + "\n")
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
    path = tmp_path / "dyn.out"
    path.write_text("".join(lines))
    try:
        exact = _read_dyn_out_exact(path, path.read_text())
    except TrajectoryFormatError as err:
        exact = err
    try:
        result = read_dyn_out(path)
    except TrajectoryFormatError as err:
        assert isinstance(exact, TrajectoryFormatError) and err.path == str(path)
        return
    # whatever the fast reader returns, the exact reader returns too
    assert not isinstance(exact, Exception), exact
    for key, value in result.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, exact[key])
        else:
            assert value == exact[key], key


def test_fast_and_exact_dyn_out_readers_agree_on_real_files():
    for path in sorted(shared("newtonx").glob("*/TRAJ*/RESULTS/dyn.out")):
        raw = path.read_bytes()
        fast = _read_dyn_out_fast(path, raw)
        exact = _read_dyn_out_exact(path, raw.decode("ascii"))
        for key, value in fast.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, exact[key], err_msg=f"{path}: {key}")
            else:
                assert value == exact[key], (path, key)


def test_ensemble_with_broken_members_finishes_and_good_members_are_unchanged(small_demo, tmp_path):
    """Broken copies (from the corpus) beside good trajectories: every broken one is excluded with a reason,
    and the good ones' stored arrays are bit-identical to an ingest of the good ones alone."""
    import shutil

    import pandas as pd

    from analysis.ingest import ingest_batch
    from analysis.io.store import Store
    from analysis.qc import run_qc

    out, truth = small_demo
    good_ids = list(truth.loc[truth.broken == "", "trajectory_id"])[:6]
    clean, mixed = tmp_path / "clean", tmp_path / "mixed"
    for tid in good_ids:
        shutil.copytree(out / "ensemble" / tid, clean / tid)
        shutil.copytree(out / "ensemble" / tid, mixed / tid)
    broken = {"TRAJ901": ("RESULTS/dyn.out", "empty"), "TRAJ902": ("RESULTS/en.dat", "binary"),
              "TRAJ903": ("RESULTS/dyn.out", "garbage"), "TRAJ904": ("RESULTS/dyn.out", "nan"),
              "TRAJ905": ("RESULTS/en.dat", "drop_line"), "TRAJ906": ("RESULTS/dyn.out", "truncate")}
    for k, (tid, (name, kind)) in enumerate(broken.items()):
        if kind in ("garbage", "nan"):  # a coordinate of the 3rd atom of the 5th geometry
            shutil.copytree(out / "ensemble" / good_ids[0], mixed / tid)
            path = mixed / tid / name
            lines = path.read_text().splitlines(keepends=True)
            k = [i for i, ln in enumerate(lines) if ln.startswith("  New geometry:")][4] + 3
            fields = lines[k].split()
            fields[3] = "0.12x45" if kind == "garbage" else "NaN"
            lines[k] = " " + "   ".join(fields) + "\n"
            path.write_text("".join(lines))
        else:
            make_variant(out / "ensemble" / good_ids[0], mixed / tid, name, kind, seed=100 + k)

    for root in (clean, mixed):
        ingest_batch(root, tmp_path / f"{root.name}.npz", tmp_path / f"{root.name}.csv")
        run_qc([tmp_path / f"{root.name}.npz"], [tmp_path / f"{root.name}.csv"], tmp_path / f"{root.name}_qc.csv",
               tmp_path / f"{root.name}.parquet", thresholds={"min_length_fraction": 0.5})
    table = pd.read_parquet(tmp_path / "mixed.parquet").set_index("trajectory_id")
    assert set(table.index[table.status == "excluded"]) == set(broken)
    assert (table.loc[list(broken), "reason"].str.len() > 0).all()
    reasons = table["reason"]
    assert "dyn.out:1: expected a non-empty file" in reasons["TRAJ901"] and "en.dat:" in reasons["TRAJ902"]
    assert "dyn.out:" in reasons["TRAJ903"] and "0.12x45" in reasons["TRAJ903"]
    assert "NaN" in reasons["TRAJ904"] and "frames_missing_in_en.dat" in reasons["TRAJ905"]
    with Store(tmp_path / "clean.npz") as a, Store(tmp_path / "mixed.npz") as b:
        for tid in good_ids:
            for name in ("time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev", "populations"):
                np.testing.assert_array_equal(a.array(tid, name), b.array(tid, name))


def test_compiled_tokenizer_and_pandas_fallback_agree_bit_for_bit(monkeypatch):
    """The numba tokenizer (plain decimals only, mantissa / 10^k) and the pandas path read the same numbers."""
    import analysis.io.newtonx as nx
    from analysis.io.tokenize import parse_fields

    paths = sorted(shared("newtonx").glob("*/TRAJ*/RESULTS/dyn.out"))
    raws = [p.read_bytes() for p in paths]
    assert parse_fields(b"1 2\n", np.array([0]), np.array([3]), 2, (0, 1)) is not None, "numba is a pinned dependency"
    compiled = [nx._read_dyn_out_fast(p, r) for p, r in zip(paths, raws)]
    monkeypatch.setattr(nx, "parse_fields", lambda *a, **k: None)
    fallback = [nx._read_dyn_out_fast(p, r) for p, r in zip(paths, raws)]
    for path, a, b in zip(paths, compiled, fallback):
        for key, value in a.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, b[key], err_msg=f"{path}: {key}")


def test_compiled_tokenizer_flags_what_float_would_read_differently():
    from analysis.io.tokenize import parse_fields

    lines = [b"1.5 -2.25 +3", b"-0.000 .5 7.", b"1e3 2 3", b"nan 1 2", b"1 2", b"1 2 3 4", b"1.2.3 4 5", b"- 1 2",
             b"1234567890123456 1 2"]
    raw = b"\n".join(lines) + b"\n"
    starts = np.cumsum([0] + [len(x) + 1 for x in lines[:-1]])
    ends = starts + np.array([len(x) for x in lines])
    for i in range(len(lines)):
        values, bad = parse_fields(raw, starts[i:i + 1], ends[i:i + 1], 3, (0, 1, 2))
        if i < 2:
            assert bad == -1
            expected = [float(v) for v in lines[i].split()]
            np.testing.assert_array_equal(values[0], expected)
            assert list(np.signbit(values[0])) == list(np.signbit(expected))
        else:
            assert bad == 0, lines[i]  # exponent, nan, field count, malformed, > 15 digits: left to float()
