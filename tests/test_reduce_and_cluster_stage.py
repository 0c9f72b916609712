"""The reduce and cluster stages as library calls on planted tables (no files, no Snakemake)."""

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from analysis.channels import ASSIGNMENT_COLUMNS, STATS_COLUMNS, cluster_events
from analysis.reduce import reduce_events, too_few_events


def _events(n_per=(30, 25, 20), seed=0):
    """S1→S0 events in three planted groups (bond 1 long, bond 2 long, angle open) + a 2-event S2→S1."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, n in enumerate(n_per):
        for _ in range(n):
            bond1, bond2, angle = 1.40 + rng.normal(0, 0.02), 1.35 + rng.normal(0, 0.02), 120 + rng.normal(0, 2)
            bond1 += 0.5 if g == 0 else 0.0
            bond2 += 0.5 if g == 1 else 0.0
            angle += 30.0 if g == 2 else 0.0
            rows.append({"bond[C1-N2]": bond1, "bond[C1-O3]": bond2, "angle[N2-C1-O3]": angle})
            truth.append(g)
    table = pd.DataFrame(rows)
    table.insert(0, "transition", "S1→S0")
    table.insert(1, "trajectory_id", [f"T{k + 1}" for k in range(len(table))])
    table.insert(2, "frame", 10)
    table.insert(3, "time_fs", rng.uniform(20, 80, len(table)))
    table.insert(4, "kind", "hop")
    extra = table.head(2).assign(transition="S2→S1", frame=3)
    return pd.concat([table, extra], ignore_index=True), np.array(truth)


def test_reduce_events_pcs_name_the_planted_motions_and_skip_a_small_transition():
    events, _ = _events()
    scores, loadings, summary = reduce_events(events)
    s = summary["S1→S0"]
    assert s["n_events"] == 75 and s["n_components"] >= 2
    assert sum(s["explained_variance_ratio"][: s["n_components"]]) >= 0.9
    assert s["n_components"] == 2  # three group centres span a plane
    pcs = loadings[loadings.transition == "S1→S0"].set_index("feature").loc[["bond[C1-N2]", "bond[C1-O3]", "angle[N2-C1-O3]"]]
    plane = np.linalg.qr(pcs[["PC1", "PC2"]].to_numpy())[0]
    # the planted differences between group centres, in natural units (0.1 Å, 10°), lie in the PC1-PC2 plane
    for diff in (np.array([5.0, -5.0, 0.0]), np.array([5.0, 0.0, -3.0])):
        assert np.linalg.norm(plane.T @ diff) > 0.99 * np.linalg.norm(diff)
    assert set(scores.transition) == {"S1→S0"} and len(scores) == 75
    assert "skipped" in summary["S2→S1"] and summary["S2→S1"]["skipped"].startswith("S2→S1: 2 events (T1 at")


def test_too_few_events_in_words():
    one = pd.DataFrame({"trajectory_id": ["TRAJ7"], "time_fs": [9.25]})
    assert too_few_events("S1→S0", one) == "S1→S0: 1 event (TRAJ7 at 9.2 fs); at least 3 are needed for channels"
    assert too_few_events("S1→S0", one.iloc[:0], min_events=5) == "S1→S0: 0 events; at least 5 are needed for channels"


def test_cluster_events_recovers_planted_groups_and_leaves_the_small_transition_unresolved():
    events, truth = _events()
    scores, _, summary = reduce_events(events)
    assignments, stats = cluster_events(scores, events, {"bootstrap": 10, "random_state": 0}, summary)
    assert list(assignments.columns) == ASSIGNMENT_COLUMNS and list(stats.columns) == STATS_COLUMNS
    main = assignments[assignments.transition == "S1→S0"]
    assert len(main) == 75 and adjusted_rand_score(truth, main.channel) == 1.0
    assert (assignments.loc[assignments.transition == "S2→S1", "channel"] == "unresolved").all()
    assert sorted(stats.n_events) == [20, 25, 30] and (stats.n_bootstrap == 10).all() and (stats.stability > 0.9).all()


def test_the_franck_condon_point_is_where_the_planted_rays_meet_in_the_pca_and_clusters_them():
    """Events planted on three rays from a Franck-Condon geometry (bond 1, bond 2 or the angle grows, each event
    anywhere from 20 % to 100 % of the way), no noise; the first frames sit at FC. In the event PCA, every event's
    offset from the summary's fc_scores points along its own ray, and clustering by direction from it recovers
    the rays."""
    rng = np.random.default_rng(1)
    fc = np.array([1.40, 1.35, 120.0])
    rays = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 30.0]])
    truth = np.repeat([0, 1, 2], [12, 10, 9])
    values = fc + rng.uniform(0.2, 1.0, len(truth))[:, None] * rays[truth]
    cols = ["bond[C1-N2]", "bond[C1-O3]", "angle[N2-C1-O3]"]
    events = pd.DataFrame(values, columns=cols).assign(transition="S1→S0", trajectory_id=[f"T{k}" for k in range(len(truth))],
                                                       frame=10, time_fs=50.0, kind="hop")
    initial = pd.DataFrame(np.repeat(fc[None], 5, axis=0), columns=cols).assign(frame=0)
    scores, _, summary = reduce_events(events, initial=initial)
    offset = scores[[c for c in scores.columns if c.startswith("PC")]].to_numpy() - np.asarray(summary["S1→S0"]["fc_scores"])
    unit = offset / np.linalg.norm(offset, axis=1, keepdims=True)
    for g in range(3):
        assert (unit[truth == g] @ unit[truth == g][0] > 0.999).all()
    assignments, _ = cluster_events(scores, events, {"bootstrap": 0, "random_state": 0}, summary)
    assert adjusted_rand_score(truth, assignments["channel"]) == 1.0
    assert reduce_events(events)[2]["S1→S0"]["fc_scores"] is None  # no first frames: no FC point
