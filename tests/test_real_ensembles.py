"""Every real ensemble under ../shared/data ends in a report (exit 0) that gives reasons for whatever could not be
analysed; the multi-transition demo variant recovers the channels of both transitions in their own sections."""

import pandas as pd
import pytest

from analysis.report import screenshot
from tests.conftest import SHARED_DATA, run_snakemake, shared

pytestmark = pytest.mark.slow

REAL_SETS = ["newtonx/cyclohexadiene_nx2.2", "newtonx/cyclohexadiene_nx2.2_b", "newtonx/pyrazine_nx2.6",
             "sharc/butene_sharc2.1", "sharc/ch2nh2_sharc2.0", "sharc/ch2nh2_sharc3.0_triplets", "sharc/ch2nh2_sharc4.0",
             "sharc/ch2s_sharc2", "sharc/ch2s_sharc2_full", "pyrai2md/ch2nh2", "nexmd/benzene",
             "md17/aspirin_nequip.xyz", "md17/ethanol_schnetpack_snip.xyz"]  # MD17: one ground-state XYZ file each
# checked by hand on the files: butene TRAJ_00002 ends with H6 and H9 4-6 A from C1 and C3 and 0.66-1.01 A from each
# other (H2, vibrating); cyclohexadiene's C1-C6 averages 3.2 and 3.8 A over the last 20 fs before QC cuts TRAJ2 and
# TRAJ3 (FC 1.4-1.6 A, C-C cutoff 1.82 A), and 1.58 A in TRAJ1's last 20 fs of 400
KNOWN_PRODUCTS = {"sharc/butene_sharc2.1": {"TRAJ_00002": "C1-H6 broken; C3-H9 broken; H6-H9 formed (H2 elimination); "
                                                          "fragments C4H6 + H2",
                                            "TRAJ_00003": "FC bonding"},
                  "newtonx/cyclohexadiene_nx2.2": {"TRAJ1": "FC bonding", "TRAJ2": "C1-C6 broken (ring opening)",
                                                   "TRAJ3": "C1-C6 broken (ring opening)"}}
BROWSER_CHECKED = "newtonx/cyclohexadiene_nx2.2"  # one real report is also measured in Chromium at 800 px


def test_the_list_covers_every_trajectory_set():
    if not SHARED_DATA.exists():
        pytest.skip(f"real test data not available: {SHARED_DATA}")
    sets = {f"{fmt.name}/{s.name}" for fmt in SHARED_DATA.iterdir() if fmt.is_dir() and fmt.name not in ("ase", "licenses")
            for s in fmt.iterdir() if s.is_dir() or s.name.endswith(".xyz")}
    assert sets == set(REAL_SETS)


@pytest.mark.parametrize("name", REAL_SETS)
def test_real_ensemble_ends_in_a_report(tmp_path, name):
    root = shared(*name.split("/"))
    # the default batching, as users run it: a single run (NEXMD benzene) leaves one of the 2 batches empty
    proc = run_snakemake(tmp_path, f"input: {{root: {root}}}\ningest: {{n_batches: auto}}\n")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    r = tmp_path / "results"
    assert len(list((r / "ingest/batches").glob("*.npz"))) == 2  # n_batches: auto, at least 2
    html = (r / "report/report.html").read_text()
    table = pd.read_parquet(r / "qc/trajectories.parquet")
    assert len(table) >= 1 and f"of {len(table)} {'trajectory' if len(table) == 1 else 'trajectories'} analysed" in html
    for row in table[table.status != "ok"].itertuples():  # every exclusion is explained in the report
        assert row.reason and row.trajectory_id in html
    events = pd.read_parquet(r / "features/events.parquet")
    assign = pd.read_csv(r / "clusters/assignments.csv")
    assert len(assign) == len(events)
    for transition in set(events.get("transition", [])):
        assert f"{transition}:" in html  # a section with its one-sentence status
    assert "hopscope report:" in proc.stdout
    channels = pd.read_csv(r / "report/channels.csv")
    resolved = channels[channels["resolved"].astype(str) == "True"] if len(channels) else channels
    assert html.count('<div class="card"') == len(resolved)  # one card per channel, with its drawing
    assert len(list((r / "report/figures").glob("*_medoid.png"))) == len(resolved)
    products = pd.read_csv(r / "report/products.csv")
    assert len(products) == int((table.status == "ok").sum())  # one product per analysed trajectory
    if name in KNOWN_PRODUCTS:  # read off the trajectories' own last frames (see KNOWN_PRODUCTS)
        assert dict(zip(products.trajectory_id, products["product"])) == KNOWN_PRODUCTS[name]
    changed = products["product"] != "FC bonding"
    assert products.loc[changed, "formed_at_fs"].between(0, products.loc[changed, "end_time_fs"]).all()
    assert (r / "report/figures/products.png").is_file() == bool(changed.any())  # products over time, where any formed
    if name == BROWSER_CHECKED and screenshot.browser():
        page, window = screenshot.page_width(r / "report/report.html", 800)
        assert page <= window, f"{name}: the report is {page} px wide in an {window} px window"


def test_states_are_named_spectroscopically_on_sharc_with_triplets():
    from analysis.io.discover import READERS

    t = READERS["sharc"](shared("sharc", "ch2nh2_sharc4.0", "TRAJ_00001"))
    labels = set(t.frame_labels)
    assert labels <= {"S0", "S1", "S2", "T1", "T2", "T3"} and "S1" in labels


def test_cascade_demo_recovers_both_transitions(tmp_path):
    """S2→S1 (two C=O motions) then S1→S0 (C6 puckering, NH2 out-of-plane) or never: each transition's channels
    come back in their own section with their planted motions and shares."""
    proc = run_snakemake(tmp_path, "input: {root: demo}\ndemo: {n_trajectories: 60, broken_fraction: 0.0, cascade: true}\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    truth = pd.read_csv(tmp_path / "results/demo/truth.csv", keep_default_na=False).rename(columns={"channel": "channel_S1_S0"})
    assign = pd.read_csv(tmp_path / "results/clusters/assignments.csv")
    channels = pd.read_csv(tmp_path / "results/report/channels.csv")
    assert set(assign.transition) == {"S2→S1", "S1→S0"}
    for transition, planted_col in (("S2→S1", "channel_S2_S1"), ("S1→S0", "channel_S1_S0")):
        a = assign[assign.transition == transition].merge(truth, on="trajectory_id")
        assert len(a) == (truth[planted_col] != "").sum()  # one event per trajectory that made this hop
        table = pd.crosstab(a["channel"], a[planted_col])
        assert table.shape == (2, 2) and table.max(axis=1).sum() / table.values.sum() >= 0.95
        rows = channels[channels.transition == transition]
        for channel, planted in table.idxmax(axis=1).items():
            assert rows.set_index("channel").loc[channel, "important_motion"] == planted
    html = (tmp_path / "results/report/report.html").read_text()
    assert html.index('id="S2-S1"') < html.index('id="S1-S0"')
    table = pd.read_parquet(tmp_path / "results/qc/trajectories.parquet").merge(truth, on="trajectory_id")
    assert ((table["final_label"] == "S1") == (table["channel_S1_S0"] == "")).all()  # the trapped ones never reach S0
