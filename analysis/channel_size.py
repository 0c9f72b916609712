"""The smallest channel a run resolves, and the label of the events in none.

Shared by the clustering, the stability, the formation times and the report; kept apart from
:mod:`analysis.cluster` so the report does not import the clustering's numerical stack (scikit-learn, HDBSCAN,
scipy.stats: 0.8 s of every report job's start).
"""

from __future__ import annotations

import math

UNRESOLVED = "unresolved"
MIN_CLUSTER_SIZE = 5      # the defaults of HierarchicalClustering and of the config's cluster block
MIN_SHARE = 0.03
SMALL_RUN_SHARE = 0.2


def smallest_channel(n_events: int, min_cluster_size: int = MIN_CLUSTER_SIZE, min_share: float = MIN_SHARE,
                     small_run_share: float = SMALL_RUN_SHARE) -> int:
    """Fewest events a channel of ``n_events`` may have: ``min_cluster_size``, lowered in a small run to
    ``small_run_share`` of its events (not below 3; 0 keeps ``min_cluster_size``), raised in a large one to
    ``min_share`` of them, and at least 2. A group of fewer is density noise to
    :class:`analysis.cluster.HierarchicalClustering`.

    In a run of 12 events, three channels of 4 are 33 % each; a fixed 5 left them all unresolved."""
    size = int(min_cluster_size)
    if small_run_share > 0:
        size = min(size, max(3, math.ceil(float(small_run_share) * int(n_events))))
    return max(2, size, math.ceil(float(min_share) * int(n_events)))
