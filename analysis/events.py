"""Which frames of a trajectory are its analysis events.

The default unit of analysis is a *transition*: every kind of downward hop that occurs in the ensemble
(``S2→S1``, ``S1→S0``, ``T1→S0`` …), each analysed on its own. States are named spectroscopically
(:func:`frame_state_labels`): Newton-X, PyRAI2MD, NEXMD and plain-XYZ state k (1-based, as hopscope stores
it) is S(k−1); SHARC's active (diagonal) state is named by the MCH state it has in that frame (``T1``, the
M_s sublevel dropped).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.io.trajectory import hops_from_states

EVENT_HELP = ("transitions (default: every kind of downward hop, each analysed on its own), final_frame, "
              "time:<t_fs>, hop:<from>-<to> with spectroscopic names (e.g. hop:S2-S1), last_hop_to_ground, first_hop")
HOP_SELECT = ("last", "first", "all")
ARROW = "→"
EVENT_COLUMNS = ["transition", "frame", "time_fs", "kind", "from_label", "to_label"]


def hop_table(time_fs: np.ndarray, active_state: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """:func:`~analysis.io.trajectory.hops_from_states` plus the state names before/after each hop, the
    ``transition`` they make (``S2→S1``) and ``downward``: the new state is lower in the program's
    energy-ordered numbering *and* has another name. (A SHARC hop between two diagonal states that are the
    same MCH state, ``S2→S2``, changes no electronic state in spectroscopic terms and is no transition.)"""
    hops = hops_from_states(time_fs, active_state)
    labels = np.asarray(labels).astype(str)
    hops["from_label"] = labels[hops["frame"] - 1]
    hops["to_label"] = labels[hops["frame"]]
    hops["transition"] = hops["from_label"] + ARROW + hops["to_label"]
    hops["downward"] = (hops["to_state"] < hops["from_state"]) & (hops["from_label"] != hops["to_label"])
    return hops


def _select(hops: pd.DataFrame, hop_select: str, by=("transition",)) -> pd.DataFrame:
    """The first, last or all hops of each group (``by=()``: of the whole table)."""
    if hop_select not in HOP_SELECT:
        raise ValueError(f"features.hop_select: {hop_select!r}; expected one of {HOP_SELECT}")
    if hop_select == "all":
        return hops
    groups = hops.groupby(list(by), sort=False) if by else hops
    return groups.head(1) if hop_select == "first" else groups.tail(1)


def event_frames(time_fs, active_state, labels, event: str = "transitions", hop_select: str = "last") -> pd.DataFrame:
    """The analysis events of one trajectory.

    Parameters
    ----------
    time_fs, active_state : (n_frames,)
    labels : (n_frames,) spectroscopic state names (:func:`frame_state_labels`)
    event : str
        One of :data:`EVENT_HELP`.
    hop_select : {'last', 'first', 'all'}
        Which hop of each kind is an event when a trajectory hops that way more than once.

    Returns
    -------
    DataFrame with :data:`EVENT_COLUMNS`: the transition (group) the event belongs to, its frame and
    time, ``kind`` ('hop' or 'frame'), and the state names before/after (equal for frame events).
    """
    time_fs = np.asarray(time_fs, dtype=float)
    labels = np.asarray(labels).astype(str)
    empty = pd.DataFrame({c: pd.Series(dtype=object if c in ("transition", "kind", "from_label", "to_label") else float)
                          for c in EVENT_COLUMNS})
    if len(time_fs) == 0:
        return empty
    hops = hop_table(time_fs, active_state, labels)
    if event == "transitions":
        sel = _select(hops[hops["downward"]], hop_select)
    elif event == "last_hop_to_ground":
        sel = _select(hops[(hops["to_label"] == "S0") | (hops["to_state"] == 1)], hop_select, by=())
    elif event == "first_hop":
        sel = hops.head(1)
    elif event == "final_frame" or event.startswith("time:"):
        if event == "final_frame":
            frame, name = len(time_fs) - 1, "final frame"
        else:
            t = _parse_time(event)
            if t > time_fs[-1] + 1e-9 or t < time_fs[0] - 1e-9:
                return empty
            frame, name = int(np.argmin(np.abs(time_fs - t))), f"t = {t:g} fs"
        return pd.DataFrame({"transition": [name], "frame": [frame], "time_fs": [time_fs[frame]], "kind": ["frame"],
                             "from_label": [labels[frame]], "to_label": [labels[frame]]})
    else:
        m = re.fullmatch(r"hop:([^-\s]+)-([^-\s]+)", event)
        if not m:
            raise ValueError(f"features.event: unknown event {event!r}; expected {EVENT_HELP}")
        sel = _select(hops[(hops["from_label"] == m.group(1)) & (hops["to_label"] == m.group(2))], hop_select)
    if sel.empty:
        return empty
    out = sel[["transition", "frame", "time_fs", "from_label", "to_label"]].assign(kind="hop")
    return out[EVENT_COLUMNS].sort_values("frame", kind="stable").reset_index(drop=True)


def _parse_time(event: str) -> float:
    try:
        return float(event.split(":", 1)[1])
    except ValueError:
        raise ValueError(f"features.event: {event!r}: expected time:<t_fs>, e.g. time:100") from None


def event_frame(time_fs, active_state, event: str = "last_hop_to_ground", labels=None) -> int | None:
    """Frame of the single event ``event`` (the last one if several), or None.

    Convenience wrapper of :func:`event_frames` for one-event-per-trajectory definitions; ``labels``
    default to ``S0, S1, …`` for states 1, 2, ….
    """
    active_state = np.asarray(active_state, dtype=int)
    if labels is None:
        labels = np.char.add("S", (active_state - 1).astype(str))
    ev = event_frames(time_fs, active_state, labels, event)
    return int(ev["frame"].iloc[-1]) if len(ev) else None
