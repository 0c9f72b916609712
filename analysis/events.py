"""Which frame of a trajectory is its analysis event."""

from __future__ import annotations

import re

import numpy as np

EVENT_HELP = ("last_hop_to_ground (default), first_hop, final_frame, time:<t_fs>, hop:<i>-<j> "
              "(last hop from state i to j, 1-based)")


def event_frame(time_fs: np.ndarray, active_state: np.ndarray, event: str = "last_hop_to_ground", ground_state: int = 1) -> int | None:
    """Frame index of the analysis event, or None if the trajectory has no such event.

    Parameters
    ----------
    time_fs, active_state : (n_frames,) post-hop active state, 1-based
    event : str
        One of :data:`EVENT_HELP`. A hop's frame is the first frame on the new state.
    """
    active_state = np.asarray(active_state)
    hop_frames = np.flatnonzero(active_state[1:] != active_state[:-1]) + 1
    if event == "last_hop_to_ground":
        sel = hop_frames[active_state[hop_frames] == ground_state]
        return int(sel[-1]) if sel.size else None
    if event == "first_hop":
        return int(hop_frames[0]) if hop_frames.size else None
    if event == "final_frame":
        return int(len(time_fs) - 1)
    m = re.fullmatch(r"time:([-\d.eE+]+)", event)
    if m:
        t = float(m.group(1))
        if t > time_fs[-1] + 1e-9 or t < time_fs[0] - 1e-9:
            return None
        return int(np.argmin(np.abs(np.asarray(time_fs) - t)))
    m = re.fullmatch(r"hop:(\d+)-(\d+)", event)
    if m:
        i, j = int(m.group(1)), int(m.group(2))
        sel = hop_frames[(active_state[hop_frames - 1] == i) & (active_state[hop_frames] == j)]
        return int(sel[-1]) if sel.size else None
    raise ValueError(f"features.event: unknown event {event!r}; expected {EVENT_HELP}")
