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

from analysis.io.trajectory import hop_frames

EVENT_HELP = ("transitions (default: every kind of downward hop, each analysed on its own), final_frame, "
              "time:<t_fs>, hop:<from>-<to> with spectroscopic names (e.g. hop:S2-S1), last_hop_to_ground, first_hop")
HOP_SELECT = ("last", "first", "all")
ARROW = "→"
EVENT_COLUMNS = ["transition", "frame", "time_fs", "kind", "from_label", "to_label"]


def _hop_arrays(time_fs: np.ndarray, active_state: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of :func:`hop_table` as arrays (one entry per hop, in frame order)."""
    active_state = np.asarray(active_state)
    frames = hop_frames(active_state)
    from_label, to_label = labels[frames - 1], labels[frames]
    from_state, to_state = active_state[frames - 1].astype(int), active_state[frames].astype(int)
    return {"time_fs": np.asarray(time_fs, dtype=float)[frames], "frame": frames.astype(int), "from_state": from_state,
            "to_state": to_state, "from_label": from_label, "to_label": to_label,
            "transition": np.char.add(np.char.add(from_label, ARROW), to_label) if len(frames) else from_label,
            "downward": (to_state < from_state) & (from_label != to_label)}


def hop_table(time_fs: np.ndarray, active_state: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """:func:`~analysis.io.trajectory.hops_from_states` plus the state names before/after each hop, the
    ``transition`` they make (``S2→S1``) and ``downward``: the new state is lower in the program's
    energy-ordered numbering *and* has another name. (A SHARC hop between two diagonal states that are the
    same MCH state, ``S2→S2``, changes no electronic state in spectroscopic terms and is no transition.)"""
    hops = _hop_arrays(time_fs, active_state, np.asarray(labels).astype(str))
    return pd.DataFrame({k: hops[k].astype(object) if k in ("from_label", "to_label", "transition") else hops[k]
                         for k in ("time_fs", "frame", "from_state", "to_state", "from_label", "to_label", "transition",
                                   "downward")})


def _select(candidates: np.ndarray, groups: np.ndarray | None, hop_select: str) -> np.ndarray:
    """Of the hop indices ``candidates`` (ascending), the first, last or all of each group (``groups``: the
    group of every hop; None: one group)."""
    if hop_select not in HOP_SELECT:
        raise ValueError(f"features.hop_select: {hop_select!r}; expected one of {HOP_SELECT}")
    if hop_select == "all" or not len(candidates):
        return candidates
    keys = groups[candidates] if groups is not None else np.zeros(len(candidates), int)
    if hop_select == "first":
        _, pos = np.unique(keys, return_index=True)
    else:
        _, pos = np.unique(keys[::-1], return_index=True)
        pos = len(keys) - 1 - pos
    return candidates[np.sort(pos)]


def event_rows(time_fs, active_state, labels, event: str = "transitions", hop_select: str = "last") -> dict:
    """:func:`event_frames` as a dict of arrays (:data:`EVENT_COLUMNS`, sorted by frame): the same events without
    building a DataFrame per trajectory, for stages that collect the events of many trajectories."""
    time_fs = np.asarray(time_fs, dtype=float)
    labels = np.asarray(labels).astype(str)
    if len(time_fs) == 0:
        return _rows([], [], [], "hop", [], [])
    if event == "final_frame" or event.startswith("time:"):
        if event == "final_frame":
            frame, name = len(time_fs) - 1, "final frame"
        else:
            t = _parse_time(event)
            if t > time_fs[-1] + 1e-9 or t < time_fs[0] - 1e-9:
                return _rows([], [], [], "frame", [], [])
            frame, name = int(np.argmin(np.abs(time_fs - t))), f"t = {t:g} fs"
        return _rows([name], [frame], [time_fs[frame]], "frame", [labels[frame]], [labels[frame]])
    hops = _hop_arrays(time_fs, active_state, labels)
    every = np.arange(len(hops["frame"]))
    if event == "transitions":
        sel = _select(every[hops["downward"]], hops["transition"], hop_select)
    elif event == "last_hop_to_ground":
        sel = _select(every[(hops["to_label"] == "S0") | (hops["to_state"] == 1)], None, hop_select)
    elif event == "first_hop":
        sel = every[:1]
    else:
        m = re.fullmatch(r"hop:([^-\s]+)-([^-\s]+)", event)
        if not m:
            raise ValueError(f"features.event: unknown event {event!r}; expected {EVENT_HELP}")
        sel = _select(every[(hops["from_label"] == m.group(1)) & (hops["to_label"] == m.group(2))], hops["transition"],
                      hop_select)
    return _rows(hops["transition"][sel], hops["frame"][sel], hops["time_fs"][sel], "hop", hops["from_label"][sel],
                 hops["to_label"][sel])


def _rows(transition, frame, time_fs, kind, from_label, to_label) -> dict:
    frame = np.asarray(frame, dtype=int)
    text = lambda v: np.asarray(v, dtype=object)  # noqa: E731
    return {"transition": text(transition), "frame": frame, "time_fs": np.asarray(time_fs, dtype=float),
            "kind": np.full(len(frame), kind, dtype=object), "from_label": text(from_label), "to_label": text(to_label)}


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
    rows = event_rows(time_fs, active_state, labels, event, hop_select)
    if not len(rows["frame"]):
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("transition", "kind", "from_label", "to_label") else float)
                             for c in EVENT_COLUMNS})
    return pd.DataFrame(rows)[EVENT_COLUMNS]


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
