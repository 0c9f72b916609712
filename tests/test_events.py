"""Events: transitions found from the active-state series, named spectroscopically (known answers)."""

import numpy as np
import pandas as pd
import pytest

from analysis.events import event_frame, event_frames, hop_table
from analysis.io.trajectory import frame_state_labels, spectroscopic

T = np.arange(10) * 0.5
#                 0  1  2  3  4  5  6  7  8  9
STATE = np.array([3, 3, 2, 2, 3, 2, 2, 1, 1, 2])


def labels(state):
    return frame_state_labels(state, ["S0", "S1", "S2"])


def test_hop_table_lists_every_change_with_names_and_direction():
    hops = hop_table(T, STATE, labels(STATE))
    assert list(hops.frame) == [2, 4, 5, 7, 9]
    assert list(hops.transition) == ["S2→S1", "S1→S2", "S2→S1", "S1→S0", "S0→S1"]
    assert list(hops.downward) == [True, False, True, True, False]
    assert list(hops.time_fs) == [1.0, 2.0, 2.5, 3.5, 4.5]


@pytest.mark.parametrize("select, frames", [("last", [5, 7]), ("first", [2, 7]), ("all", [2, 5, 7])])
def test_transitions_are_downward_hops_with_hop_select(select, frames):
    ev = event_frames(T, STATE, labels(STATE), "transitions", select)
    assert list(ev.frame) == frames
    assert set(ev.transition) == {"S2→S1", "S1→S0"} and (ev.kind == "hop").all()


def test_frame_events_and_named_hops():
    lab = labels(STATE)
    ev = event_frames(T, STATE, lab, "final_frame")
    assert list(ev.frame) == [9] and ev.transition.iloc[0] == "final frame" and ev.kind.iloc[0] == "frame"
    ev = event_frames(T, STATE, lab, "time:2.6")
    assert list(ev.frame) == [5] and ev.transition.iloc[0] == "t = 2.6 fs"
    assert event_frames(T, STATE, lab, "time:99").empty  # outside the trajectory: no event
    assert list(event_frames(T, STATE, lab, "hop:S2-S1", "all").frame) == [2, 5]
    assert event_frames(T, STATE, lab, "hop:S3-S0").empty
    assert event_frame(T, STATE, "last_hop_to_ground") == 7 and event_frame(T, STATE, "first_hop") == 2
    with pytest.raises(ValueError, match="features.event"):
        event_frames(T, STATE, lab, "bogus")


def test_no_hop_and_empty_trajectory_give_no_event():
    flat = np.full(5, 2)
    assert event_frames(T[:5], flat, labels(flat)).empty
    assert event_frames(T[:0], flat[:0], labels(flat[:0])).empty


def test_sharc_states_are_named_by_their_mch_label_without_ms():
    """SHARC diag state → MCH state of the frame → its label (S0, S1, T1 …), the M_s sublevel dropped."""
    from analysis.io.sharc import state_table

    mch_labels, _ = state_table([2, 0, 1])  # S0 S1 T1(Ms=-1) T1(Ms=0) T1(Ms=+1)
    assert spectroscopic(mch_labels[3]) == "T1"
    extra = {"mch_state": np.array([2, 2, 3, 4, 1]), "mch_labels": np.array(mch_labels)}
    names = frame_state_labels(np.array([5, 5, 3, 3, 1]), [f"diag{i}" for i in range(1, 6)], extra)
    assert list(names) == ["S1", "S1", "T1", "T1", "S0"]
    hops = hop_table(np.arange(5.0), np.array([5, 5, 3, 3, 1]), names)
    assert list(hops.transition) == ["S1→T1", "T1→S0"] and hops.downward.all()
    assert list(frame_state_labels(np.array([2, 1]), [], {"mch_state": np.array([4, 1])})) == ["MCH4", "MCH1"]


def test_a_sharc_hop_within_one_mch_state_is_no_transition():
    """diag 4→3 while the MCH state stays S2 (spin–orbit mixing): a hop in the table, not a downward transition."""
    names = np.array(["S2", "S2", "S2", "S1"])
    state = np.array([4, 4, 3, 2])
    hops = hop_table(np.arange(4.0), state, names)
    assert list(hops.transition) == ["S2→S2", "S2→S1"] and list(hops.downward) == [False, True]
    assert list(event_frames(np.arange(4.0), state, names).transition) == ["S2→S1"]


@pytest.mark.parametrize("event", ["transitions", "last_hop_to_ground", "first_hop", "final_frame", "time:2.6", "hop:S2-S1"])
@pytest.mark.parametrize("select", ["last", "first", "all"])
def test_event_rows_are_the_event_table_as_arrays(event, select):
    from analysis.events import EVENT_COLUMNS, event_rows

    rows = event_rows(T, STATE, labels(STATE), event, select)
    table = event_frames(T, STATE, labels(STATE), event, select)
    assert list(rows) == EVENT_COLUMNS
    for column in EVENT_COLUMNS:
        assert list(rows[column]) == list(table[column]), column


def test_last_hop_to_ground_picks_the_last_hop_into_s0_whatever_its_origin():
    state = np.array([3, 1, 1, 2, 2, 1, 1])
    ev = event_frames(np.arange(7.0), state, labels(state), "last_hop_to_ground", "last")
    assert list(ev.frame) == [5] and list(ev.transition) == ["S1→S0"]
    ev = event_frames(np.arange(7.0), state, labels(state), "last_hop_to_ground", "first")
    assert list(ev.frame) == [1] and list(ev.transition) == ["S2→S0"]
