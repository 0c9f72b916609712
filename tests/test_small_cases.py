"""Small and degenerate ensembles never crash a stage: the real snakemake ends in a report that says, in words,
what was found and why no channel table could be made."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, SNAKEMAKE_FAST, run_snakemake, write_nx_ensemble

pytestmark = pytest.mark.slow


def _report(tmp_path) -> tuple[str, str, pd.DataFrame]:
    r = tmp_path / "results" / "report"
    assert (r / "report.html").is_file()
    return (r / "report.html").read_text(), (r / "channels.md").read_text(), pd.read_csv(r / "channels.csv")


def test_zero_events_gives_a_report_that_says_so(tmp_path):
    root = tmp_path / "ens"
    write_nx_ensemble(root, [False, False, False])
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    assert "No trajectory has an analysis event" in html
    assert "3 of 3 trajectories never hop" in html
    assert channels.empty
    assert "no trajectory has an analysis event (transitions): no channels" in proc.stdout
    assert "set features.event to final_frame or time:<t_fs>" in md  # and what to do about it
    assert "hopscope report:" in proc.stdout  # the last lines say where the report is


@pytest.mark.parametrize("n_hopping", [1, 2])
def test_one_or_two_events_are_listed_not_clustered(tmp_path, n_hopping):
    root = tmp_path / "ens"
    t = write_nx_ensemble(root, [k < n_hopping for k in range(4)])
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    if n_hopping == 1:
        sentence = f"S1→S0: 1 event (TRAJ1 at {t[0]:.1f} fs); at least 3 are needed for channels"
    else:
        sentence = f"S1→S0: 2 events (TRAJ1 at {t[0]:.1f} fs, TRAJ2 at {t[1]:.1f} fs); at least 3 are needed for channels"
    assert sentence in html and sentence in md and sentence in proc.stdout
    assert set(channels["channel"]) == {"unresolved"} and channels["n_events"].sum() == n_hopping
    geoms = sorted(p.name for p in (tmp_path / "results/report/geometries").glob("*.xyz"))
    assert len(geoms) == n_hopping and geoms[0] == f"S1-S0_TRAJ1_frame{round(t[0] / 0.5)}.xyz"  # event geometries
    assert f"{4 - n_hopping} of 4 trajectories never hop" in html
    # each listed event is described by its own motion: the planted C6 puckering, and the S1–S0 gap at the hop
    event_rows = [line for line in md.splitlines() if line.startswith("| TRAJ")]
    assert len(event_rows) == n_hopping and all("C6 puckering" in line for line in event_rows)
    assert "S1–S0 gap (eV)" in md and "largest motion from FC" in html
    if n_hopping == 2:  # both events show the planted motion: said once for the transition
        assert "Shared by at least half of these events: C6 puckering [+]" in md and "(mean) in 2 of 2" in md


def test_every_trajectory_excluded_gives_a_report_listing_why(tmp_path):
    root = tmp_path / "ens"
    for k in (1, 2):
        (root / f"TRAJ{k}" / "RESULTS").mkdir(parents=True)
        (root / f"TRAJ{k}" / "RESULTS" / "en.dat").write_text("garbage\n")
        (root / f"TRAJ{k}" / "RESULTS" / "dyn.out").write_text("not a dyn.out\n")
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    assert "0 of 2 trajectories analysed" in html
    qc_section = html.split('id="qc"')[1]  # each reason once in the QC table (and again in the "Read first" box)
    assert qc_section.count("en.dat:1: expected") == 2 or qc_section.count("dyn.out:1") == 2
    assert "2 of 2 trajectories excluded" in proc.stdout
    assert "no trajectory passed ingest and QC" in proc.stdout


def test_one_trajectory(tmp_path):
    root = tmp_path / "ens"
    t = write_nx_ensemble(root, [True, True, True])
    proc = run_snakemake(tmp_path, f"input: {{root: {root}, pattern: TRAJ2}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    assert "1 of 1 trajectory analysed" in html
    assert f"S1→S0: 1 event (TRAJ2 at {t[1]:.1f} fs)" in html
    assert "held-out final time block of the only trajectory" in html  # the surrogate says how it validated


@pytest.mark.parametrize("pattern", ["*", "nothing_matches*"])
def test_empty_root_or_pattern_stops_at_dry_run(tmp_path, pattern):
    root = tmp_path / "empty"
    root.mkdir()
    if pattern != "*":
        write_nx_ensemble(root, [False])
    proc = run_snakemake(tmp_path, f"input: {{root: {root}, pattern: '{pattern}'}}\n", "-n")
    assert proc.returncode != 0
    assert f"no trajectory folders under {root} matching input.pattern '{pattern}'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("name, words", [("runs.tar.gz", "an archive; unpack it first"), ("no_such_folder", "it does not exist"),
                                         ("archived", "it holds 2 archive(s) (TRAJ1.tar.gz, TRAJ2.tgz): unpack them first")])
def test_a_root_that_is_an_archive_or_missing_says_so_at_dry_run(tmp_path, name, words):
    root = tmp_path / name
    if name.endswith(".tar.gz"):
        root.write_bytes(b"\x1f\x8b not really")
    if name == "archived":  # one archive per trajectory
        root.mkdir()
        for f in ("TRAJ1.tar.gz", "TRAJ2.tgz"):
            (root / f).write_bytes(b"\x1f\x8b not really")
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n", "-n")
    assert proc.returncode != 0
    assert words in proc.stdout + proc.stderr
    if name != "archived":
        assert f"input.root: '{root}' is neither a directory" in proc.stdout + proc.stderr


def test_missing_file_with_explicit_format_is_named_and_fail_stops(tmp_path):
    root = tmp_path / "ens"
    write_nx_ensemble(root, [True, True, True])
    (root / "TRAJ2" / "RESULTS" / "dyn.out").unlink()  # the geometries (en.dat alone holds none)
    proc = run_snakemake(tmp_path, f"input: {{root: {root}, format: newtonx}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet").set_index("trajectory_id")
    assert table.loc["TRAJ2", "status"] == "excluded"
    assert "TRAJ2/RESULTS/dyn.out: expected a dyn.out file (or dyn.xyz)" in table.loc["TRAJ2", "reason"]
    shutil.rmtree(tmp_path / "results")
    proc = run_snakemake(tmp_path, f"input: {{root: {root}, format: newtonx, on_error: fail}}\n")
    assert proc.returncode != 0
    assert "input.on_error=fail" in proc.stdout + proc.stderr and "TRAJ2/RESULTS/dyn.out" in proc.stdout + proc.stderr


def test_missing_pyrai2md_xyz_is_named_with_auto_format(tmp_path):
    from tests.conftest import shared

    root = tmp_path / "ens"
    shutil.copytree(shared("pyrai2md", "ch2nh2"), root)
    (root / "traj3" / "mai.md.xyz").unlink()
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\nqc: {{policy: keep}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet").set_index("trajectory_id")
    assert table.loc["traj3", "format"] == "pyrai2md"
    assert table.loc["traj3", "reason"].endswith("traj3/mai.md.xyz: missing")


def test_added_or_changed_trajectory_is_reingested(tmp_path):
    root = tmp_path / "ens"
    write_nx_ensemble(root, [True, True, True])
    config = f"input: {{root: {root}}}\n"
    ingest = ("results/qc/trajectories.parquet",)  # only the ingest stages: re-ingesting is what is tested
    assert run_snakemake(tmp_path, config, targets=ingest).returncode == 0
    assert "Nothing to be done" in run_snakemake(tmp_path, config, "-n", targets=ingest).stdout + run_snakemake(tmp_path, config, "-n", targets=ingest).stderr
    write_nx_ensemble(tmp_path / "more", [True, True, True, True])
    shutil.copytree(tmp_path / "more" / "TRAJ4", root / "TRAJ4")
    dry = run_snakemake(tmp_path, config, "-n", "--quiet", "progress", targets=ingest)
    text = dry.stdout + dry.stderr
    assert "ingest" in text and "Params have changed" in text
    proc = run_snakemake(tmp_path, config, targets=ingest)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet")
    assert list(table["trajectory_id"]) == ["TRAJ1", "TRAJ2", "TRAJ3", "TRAJ4"]
    # a changed file (same name) is noticed too
    en = root / "TRAJ1" / "RESULTS" / "en.dat"
    en.write_text(en.read_text())
    os.utime(en, ns=(en.stat().st_atime_ns, en.stat().st_mtime_ns + 10**9))
    assert "Params have changed" in run_snakemake(tmp_path, config, "-n", targets=ingest).stdout


def test_interrupt_then_plain_rerun_completes(tmp_path):
    """Ctrl-C in the middle of a run, then plain ``snakemake`` (the workflow profile sets rerun-incomplete)."""
    root = tmp_path / "ens"
    write_nx_ensemble(root, [True, True, True, False], t_max_fs=120.0)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input: {{root: {root}}}\ningest: {{n_batches: 2}}\n")
    fast = tmp_path / "fast.yaml"
    fast.write_text(SNAKEMAKE_FAST.replace("n_batches: 1", "n_batches: 2"))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
           "--cores", "1", "--configfile", str(fast), str(cfg)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Snakemake as started from a terminal: SIGINT at its default (a test run started in the background by a
    # non-interactive shell ignores SIGINT, and children inherit an ignored signal: the Ctrl-C was then lost)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "results" / "ingest" / "batches").glob("*.npz")):
        time.sleep(0.2)
    # Ctrl-C until Snakemake stops: one SIGINT that lands while Snakemake is between jobs can go unanswered under
    # load (1 run in 14 with six busy processes let the run finish); a user presses again, and so does the test
    while proc.poll() is None and time.time() < deadline:
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(1.0)
    proc.communicate(timeout=120)
    assert not (tmp_path / "results/report/report.html").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert (tmp_path / "results/report/report.html").is_file()
    assert "Using workflow specific profile" in rerun.stdout + rerun.stderr


def test_a_machine_without_a_utf8_locale_still_gets_its_report(tmp_path):
    """Under LC_ALL=C without Python's UTF-8 mode the default text encoding is ASCII: every file the pipeline
    writes with a '→' or 'Å' (pca.json, the report, warnings) must say its encoding, and the last lines printed
    must not fail on them (a real run stopped at QC before)."""
    root = tmp_path / "ens"
    write_nx_ensemble(root, [True, True, False])
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0"}
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = (tmp_path / "results/report/warnings.txt").read_text(encoding="utf-8")
    assert "S1→S0" in warnings and "S1\\u2192S0" in proc.stdout  # the file in UTF-8, the ASCII terminal escaped
    assert "S1→S0" in (tmp_path / "results/report/report.html").read_text(encoding="utf-8")


def test_runs_in_subfolders_with_the_same_trajectory_names_are_all_analysed(tmp_path):
    """root/run1/TRAJ1-3 and root/run2/TRAJ1-3 (a study run twice): six trajectories, none mixed with another."""
    root = tmp_path / "ens"
    t1 = write_nx_ensemble(root / "run1", [True, True, False], seed=1)
    t2 = write_nx_ensemble(root / "run2", [True, False, True], seed=2)
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    assert "6 of 6 trajectories analysed" in html
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet")
    assert list(table["trajectory_id"]) == [f"run{r}_TRAJ{k}" for r in (1, 2) for k in (1, 2, 3)]
    events = pd.read_csv(tmp_path / "results/clusters/assignments.csv")
    hops = dict(zip(events["trajectory_id"], events["event_time_fs"]))
    planted = {f"run1_TRAJ{k + 1}": t for k, t in enumerate(t1) if t} | {f"run2_TRAJ{k + 1}": t for k, t in enumerate(t2) if t}
    assert hops.keys() == planted.keys()
    assert all(abs(hops[k] - planted[k]) <= 0.5 for k in planted)  # each hop where its own trajectory planted it


def test_a_root_that_is_one_trajectory_folder_gets_a_report(tmp_path):
    t = write_nx_ensemble(tmp_path / "ens", [True])
    proc = run_snakemake(tmp_path, f"input: {{root: {tmp_path / 'ens' / 'TRAJ1'}}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    assert "1 of 1 trajectory analysed" in html and f"S1→S0: 1 event (TRAJ1 at {t[0]:.1f} fs)" in html


def _formaldehyde_xyz(folder, stretch_angstrom, blow_up_at=None, n_frames=40, hop_at=20, seed=0):
    """A plain-XYZ formaldehyde run (time/state in the comment lines), its C=O bond stretched by
    ``stretch_angstrom`` from frame 10 on; from ``blow_up_at`` on its coordinates are NaN (a run that blew up)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xyz = np.array([[0, 0, 0], [0, 0, 1.21], [0, 0.94, -0.59], [0, -0.94, -0.59]], float)
    folder.mkdir(parents=True)
    lines = []
    for f in range(n_frames):
        x = xyz + rng.normal(0, 0.01, xyz.shape)
        x[1, 2] += stretch_angstrom if f >= 10 else 0.0
        lines += ["4", f"time={0.5 * f} state={2 if f < hop_at else 1}"]
        lines += [f"{s} {'NaN' if blow_up_at is not None and f >= blow_up_at else f'{p[0]:.6f}'} {p[1]:.6f} {p[2]:.6f}"
                  for s, p in zip("COHH", x)]
    (folder / "traj.xyz").write_text("\n".join(lines) + "\n")


def test_one_dominant_motion_a_blown_up_run_and_spaces_in_folder_names(tmp_path):
    # one motion (the C=O stretch, by a different amount in each run) carries the PCA's variance cut, so PC1 is the
    # only component kept while PC2 is stored: the report's PCA figure failed on that. A run that turns NaN after
    # its hop is analysed up to there (it was excluded); folder names hold spaces.
    root = tmp_path / "my runs"
    for k in range(6):
        _formaldehyde_xyz(root / f"traj {k + 1}", 0.04 * k, blow_up_at=30 if k == 2 else None, seed=k)
    proc = run_snakemake(tmp_path, f"input: {{root: '{root}'}}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html, md, channels = _report(tmp_path)
    import json

    pca = json.loads((tmp_path / "results/reduce/pca.json").read_text())["transitions"]["S1→S0"]
    assert pca["n_components"] == 1 and pca["n_components_stored"] >= 2
    assert (tmp_path / "results/report/figures/S1-S0_pca.png").is_file()
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet").set_index("trajectory_id")
    assert (table["status"] == "ok").all() and table.at["traj 3", "n_frames_used"] == 30
    assert "traj 3: QC (truncated: frames from 15.00 fs on dropped, 30 of 40 kept): NaN or inf" in html
    assert channels["n_events"].sum() == 6 and "C1-O2" in " ".join(channels["important_motion"].dropna())
