"""Formation time (analysis.formation): the first frame from which a trajectory stays nearest its channel."""

import numpy as np
import pandas as pd

from analysis.formation import formation_times


def _case():
    # one bond; channel A's events at +1 Å, channel B's at −1 Å (centroids ±1 Å from the events)
    col = "bond[C1-C2]"
    events = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [40, 40, 40], "time_fs": [20.0, 20.0, 20.0],
                           col: [1.6, -1.0, 0.4]})
    t = np.arange(0.0, 20.0, 5.0)
    frames = pd.concat([
        pd.DataFrame({"trajectory_id": "T1", "time_fs": t, col: [0.1, -0.2, 0.3, 0.6]}),   # commits at 10 fs
        pd.DataFrame({"trajectory_id": "T2", "time_fs": t, col: [-0.1, -0.3, -0.5, -0.8]}),  # from the start
        pd.DataFrame({"trajectory_id": "T3", "time_fs": t, col: [0.2, 0.3, 0.2, -0.4]}),     # only at its event
        pd.DataFrame({"trajectory_id": "T1", "time_fs": [25.0], col: [-3.0]}),               # after the event: ignored
    ], ignore_index=True)
    assign = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [40, 40, 40], "channel": ["A", "B", "A"]})
    return events, frames, assign, [col]


def test_formation_time_is_the_start_of_the_last_run_nearest_the_own_channel():
    got = formation_times(*_case()).set_index("trajectory_id")
    # centroids: A = mean(1.6, 0.4) = 1.0, B = -1.0; nearest A means value > 0
    assert got.loc["T1", "formation_time_fs"] == 10.0 and got.loc["T1", "lead_time_fs"] == 10.0
    assert got.loc["T2", "formation_time_fs"] == 0.0
    assert got.loc["T3", "formation_time_fs"] == 20.0 and got.loc["T3", "lead_time_fs"] == 0.0


def test_an_event_nearer_another_channel_never_commits():
    events, frames, assign, cols = _case()
    events.loc[2, cols[0]] = -0.2   # T3's event sits on B's side, though it was assigned A
    events.loc[0, cols[0]] = 2.4    # keep A's centroid at +1.1
    got = formation_times(events, frames, assign, cols).set_index("trajectory_id")
    assert np.isnan(got.loc["T3", "formation_time_fs"])


def test_one_channel_has_no_formation_time():
    events, frames, assign, cols = _case()
    assert formation_times(events, frames, assign.assign(channel="A"), cols).empty


def test_nearest_centroid_in_blocks_equals_the_direct_distance_computation():
    from analysis.formation import nearest_centroid

    rng = np.random.default_rng(4)
    x, centroids, scale = rng.normal(size=(1001, 7)), rng.normal(size=(5, 7)), rng.uniform(0.5, 2.0, size=7)
    x[3, 2] = np.nan  # a missing feature counts as 0 after scaling, as in the event PCA
    direct = np.argmin(((np.nan_to_num(x / scale)[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert np.array_equal(nearest_centroid(x, centroids, scale, chunk=97), direct)


def test_batch_by_batch_formation_equals_the_whole_ensemble_at_once(tmp_path):
    # the stage reads one time-resolved batch at a time; the answer and its row order must not depend on it
    from analysis.formation import run_formation

    events, frames, assign, cols = _case()
    events = events.assign(transition="S1->S0", kind="hop")
    assign = assign.assign(transition="S1->S0", time_fs=20.0)
    # T4 has an event but no time-resolved frames in any batch: its formation is its event time, as unbatched
    events.loc[3] = {"trajectory_id": "T4", "frame": 40, "time_fs": 20.0, cols[0]: 1.2, "transition": "S1->S0", "kind": "hop"}
    assign.loc[3] = {"trajectory_id": "T4", "frame": 40, "channel": "A", "transition": "S1->S0", "time_fs": 20.0}
    events.to_parquet(tmp_path / "events.parquet")
    assign.to_csv(tmp_path / "assignments.csv", index=False)
    pd.DataFrame({"transition": ["S1->S0"], "feature": cols}).to_csv(tmp_path / "loadings.csv", index=False)
    frames = frames.assign(frame=0, extra_feature=7.0)
    frames.to_parquet(tmp_path / "all.parquet")
    batches = [frames[frames["trajectory_id"] == t] for t in ("T3", "T1")], frames[frames["trajectory_id"] == "T2"]
    # a batch no trajectory hashed to holds the state columns only, and no rows (seen on real pyrazine, 4 batches)
    empty = frames.iloc[:0][["trajectory_id", "time_fs", "frame"]]
    paths = []
    for k, part in enumerate([*batches[0], empty, batches[1]]):
        paths.append(tmp_path / f"{k}.parquet")
        part.to_parquet(paths[-1])
    whole = run_formation(tmp_path / "events.parquet", tmp_path / "all.parquet", tmp_path / "assignments.csv",
                          tmp_path / "loadings.csv", tmp_path / "whole.csv")
    batched = run_formation(tmp_path / "events.parquet", paths, tmp_path / "assignments.csv", tmp_path / "loadings.csv",
                            tmp_path / "batched.csv")
    assert whole["trajectory_id"].tolist() == ["T1", "T2", "T3", "T4"]
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "batched.csv").read_bytes()
    direct = formation_times(events, frames, assign, cols).set_index("trajectory_id")
    assert whole.set_index("trajectory_id").loc["T1", "formation_time_fs"] == direct.loc["T1", "formation_time_fs"] == 10.0
    assert whole.set_index("trajectory_id").loc["T4", "formation_time_fs"] == 20.0


def test_formation_measures_distances_in_the_event_pcas_units():
    """Channel X's events sit at (bond 0 Å, angle 0°), Y's at (0.2 Å, 10°); T3 (channel Y) runs at (0.2 Å, 0°) before
    its event. In natural units (0.1 Å, 10°) that frame is nearer Y (1 against 4), so T3 commits from the start;
    divided as a thermal scaling would (1 Å for the bond, 10° for the angle) it is nearer X (0.04 against 1), so T3
    commits only at its event (known answers)."""
    a, b = "bond[C1-C2]", "angle[C1-C2-C3]"
    events = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [40] * 3, "time_fs": [20.0] * 3,
                           a: [0.0, 0.2, 0.2], b: [0.0, 10.0, 10.0]})
    frames = pd.DataFrame({"trajectory_id": "T3", "time_fs": [0.0, 5.0, 10.0, 15.0], a: 0.2, b: 0.0})
    assign = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [40] * 3, "channel": ["X", "Y", "Y"]})
    natural = formation_times(events, frames, assign, [a, b]).set_index("trajectory_id")
    scaled = formation_times(events, frames, assign, [a, b], scale={a: 1.0, b: 10.0}).set_index("trajectory_id")
    assert natural.loc["T3", "formation_time_fs"] == 0.0
    assert scaled.loc["T3", "formation_time_fs"] == 20.0
