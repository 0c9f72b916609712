"""Small builders of the report on hand-made tables: names, summaries, warnings, provenance, decay text."""

import numpy as np
import pandas as pd

from analysis.kinetics import DecayFit, tau_words
from analysis.report.build import ensemble_summary, motion_text, slug, time_name, truncated_rows, warnings_html
from analysis.report.provenance import ensemble_digest, package_versions


def test_slug_and_time_name():
    assert slug("S1→S0") == "S1-S0" and slug("t = 100 fs") == "t_100_fs" and slug("S2→S1 (cascade)") == "S2-S1_cascade"
    assert time_name("hop") == "hop_time" and time_name("frame") == "event_time"


def test_motion_text_signs_with_a_true_minus_and_units():
    assert motion_text("C6 puckering [+]", 0.523, "Å") == "C6 puckering [+] +0.52 Å"
    assert motion_text("NH2 out-of-plane [-]", -34.6, "°") == "NH2 out-of-plane [-] \u221235 °"
    assert motion_text("C1-N3 torsion", float("nan"), "°") == "C1-N3 torsion"
    assert motion_text("", 1.0, "Å") == ""


TABLE = pd.DataFrame({
    "trajectory_id": ["T1", "T2", "T3", "T4"], "status": ["ok", "ok", "ok", "excluded"],
    "final_label": ["S0", "S0", "S1", "S2"], "n_hops": [2, 1, 0, 0], "n_frames": [100, 80, 120, 5],
    "n_frames_used": [100, 60, 120, 0], "reason": ["", "energy jump at 30 fs", "", "too short"]})
EVENTS = pd.DataFrame({"trajectory_id": ["T1", "T1", "T2"], "transition": ["S2→S1", "S1→S0", "S1→S0"],
                       "time_fs": [10.0, 50.0, 70.0]})


def test_ensemble_summary_counts_ok_trajectories_only():
    s = ensemble_summary(TABLE, EVENTS)
    final = dict(zip(s["final_states"].final_label, s["final_states"].percent))
    assert final == {"S0": 200 / 3, "S1": 100 / 3}  # T4 is excluded
    assert s["never_hop"].trajectory_id.tolist() == ["T3"]
    kinds = s["transitions"].set_index("transition")
    assert kinds.loc["S1→S0", "trajectories"] == 2 and kinds.loc["S1→S0", "time_fs_mean"] == 60.0
    assert kinds.loc["S2→S1", "events"] == 1
    empty = ensemble_summary(TABLE, EVENTS.iloc[:0])
    assert empty["transitions"].empty and list(empty["transitions"].columns)[:2] == ["transition", "trajectories"]


def test_truncated_rows_are_ok_trajectories_cut_short():
    assert truncated_rows(TABLE).trajectory_id.tolist() == ["T2"]
    assert truncated_rows(TABLE.drop(columns="n_frames_used")).empty


def test_warnings_html_nests_indented_lines_and_escapes():
    out = warnings_html(["2 trajectories excluded:", "  T7: <bad> line 3", "  T9: empty", "seed 1"])
    assert out == ("<li>2 trajectories excluded:<ul><li>T7: &lt;bad&gt; line 3</li><li>T9: empty</li></ul></li>"
                   "<li>seed 1</li>")


def test_package_versions_and_ensemble_digest(tmp_path):
    versions = package_versions(("numpy", "surely-not-a-package"))
    assert versions["numpy"] == np.__version__ and versions["surely-not-a-package"] == "not installed" and "python" in versions
    assert ensemble_digest([tmp_path / "missing.tsv"]) == "none"
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    pd.DataFrame({"trajectory_id": ["T1"], "format": ["newtonx"]}).to_csv(a, sep="\t", index=False)
    pd.DataFrame({"trajectory_id": ["T2"], "format": ["newtonx"]}).to_csv(b, sep="\t", index=False)
    assert ensemble_digest([a, b]) == ensemble_digest([b, a]) != ensemble_digest([a])  # order of batches does not matter


def test_decay_fit_text_and_fitted_flag():
    fit = DecayFit("S1 population", 40, tau_fs=42.2, tau_fs_lo=35.4, tau_fs_hi=50.1, t0_fs=12.0, t0_fs_lo=8.0, t0_fs_hi=15.0,
                   plateau=0.0, plateau_lo=0.0, plateau_hi=0.001)
    assert fit.fitted and fit.text() == "τ = 42 fs (95 %: 35–50), t0 = 12 fs (8–15)"
    fit.plateau, fit.plateau_lo, fit.plateau_hi = 0.2, 0.15, 0.26
    assert fit.text().endswith(", plateau c = 0.20 (0.15–0.26)")
    step = DecayFit("S3 population", 5, tau_fs=0.0, tau_fs_lo=0.0, tau_fs_hi=12.0, t0_fs=5.0, t0_fs_lo=0.0, t0_fs_hi=8.0)
    assert step.text() == "τ < 1 fs (a step at t0) (95 %: 0–12), t0 = 5 fs (0–8)"  # not 'τ = 0 fs'
    unfitted = DecayFit("S1 population", 2, note="too few trajectories")
    assert not unfitted.fitted and unfitted.text() == "too few trajectories" and unfitted.as_dict()["n_trajectories"] == 2


def test_tau_words_say_step_below_one_fs():
    assert tau_words(42.4) == "τ = 42 fs" and tau_words(1.0) == "τ = 1 fs"
    assert tau_words(0.0) == "τ < 1 fs (a step at t0)" and tau_words(0.4, spaced=False) == "τ<1 fs"
    assert tau_words(12.6, spaced=False) == "τ=13 fs"


def test_status_says_unresolved_events_may_be_channels_below_the_smallest_size():
    """Unresolved events are density noise *or* a channel too small to resolve; the sentence says which size."""
    from analysis.cluster import HierarchicalClustering, smallest_channel
    from analysis.report.build import TransitionSection

    assert smallest_channel(60) == 5 and smallest_channel(1000) == 30 and smallest_channel(3, 1, 0.0) == 2
    x = np.random.default_rng(0).normal(size=(400, 2))
    assert HierarchicalClustering(min_cluster_size=4, min_share=0.05).fit(x).min_cluster_size_ == smallest_channel(400, 4, 0.05) == 20

    def section(channels, min_events):
        s = TransitionSection.__new__(TransitionSection)
        s.transition, s.summary, s.min_channel_events = "S1→S0", {}, min_events
        s.assignments = pd.DataFrame({"channel": channels})
        s.n_events = len(channels)
        resolved = sorted(set(channels) - {"unresolved"})
        s.resolved = pd.DataFrame({"channel": resolved, "tentative": [False] * len(resolved)})
        return s

    some = section(["A1B1"] * 8 + ["unresolved"] * 3, 5)
    assert some.status == ("S1→S0: 11 events in 1 channel; unresolved, 3 events (density noise, or channels of fewer than "
                           "5 events, the smallest that cluster.min_cluster_size and min_share resolve)")
    assert section(["unresolved"] * 4, 5).status == ("S1→S0: 4 events, all unresolved (density noise, or channels of fewer "
                                                      "than 5 events, the smallest that cluster.min_cluster_size and min_share resolve)")
    assert section(["A1B1"] * 8, 5).status == "S1→S0: 8 events in 1 channel"
    assert section(["A1B1"] * 8 + ["unresolved"], None).status.endswith("unresolved, 1 event (density noise)")


def test_a_components_loadings_name_different_motions():
    """A torsion's sin and cos columns, and two dihedrals about one bond, are one twist: the PCA list shows the first
    three distinct motions, each with its largest loading."""
    from analysis.report.build import distinct_loadings
    from analysis.topology import Topology

    topo = Topology(symbols=["C", "O", "N", "H", "H", "H"], names=["C1", "O2", "N3", "H4", "H5", "H6"],
                    bonds=[(0, 1), (0, 2), (2, 3), (2, 4), (0, 5)], rings=[])
    loadings = [("dihedral_sin[O2-C1-N3-H4]", 0.41), ("dihedral_cos[O2-C1-N3-H4]", -0.40), ("dihedral_sin[H6-C1-N3-H5]", 0.39),
                ("bond[C1-O2]", 0.30), ("angle[O2-C1-N3]", -0.20), ("bond[C1-N3]", 0.10)]
    assert distinct_loadings(loadings, topo) == [("C1-N3 torsion", 0.41), ("C1-O2 stretching", 0.30), ("O2-C1-N3 closing", -0.20)]
