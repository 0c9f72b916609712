"""Hierarchical clustering of events (Zhu, Peng, Kang, Xu, Lan, PCCP 2022, d2cp03323b).

Level A: density-based (HDBSCAN or DBSCAN) on the leading PCA scores, its knobs set from the data
(``min_cluster_size`` at least ``min_share`` of the events, and in a small run at most ``small_run_share`` of
them; DBSCAN's eps at the knee of the k-distance curve), then neighbouring density clusters whose union shows no sub-structure are merged (HDBSCAN cuts a
single Gaussian cloud into pieces). Levels B, C, ...: agglomerative (Ward) inside each cluster on the
cluster's own principal axes (a re-PCA makes a motion that is minor in the whole ensemble visible), kept only
when the split beats a Gaussian null of the cluster's own covariance. Labels read ``A1B2``: level letter +
1-based index, indices ordered by cluster size (largest first). Density noise is ``unresolved``.
"""

from __future__ import annotations

import logging
import string
from functools import lru_cache

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform
from scipy.stats import chi2
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from analysis.channel_size import MIN_CLUSTER_SIZE, MIN_SHARE, SMALL_RUN_SHARE, UNRESOLVED, smallest_channel
from analysis.shrunk_gaussian import gaussian_costs, leave_one_out_costs

log = logging.getLogger(__name__)

NOISE_REACH_QUANTILE = 0.999
# a member farther out than this quantile of its cluster without it is noise (outlying_members); far stricter than the
# reach of noise: channels are not Gaussian (a planted 24-event channel lost 1 member in 2 of 6 seeds at 0.999)
OUTLYING_QUANTILE = 1 - 1e-6
AXIS_NULL_FACTOR = 10  # the cut along one axis must beat this many times n_null Gaussian samples
# a cluster's members are scored without themselves (gaussian_polish) only when the others number at least this many
# per dimension: the fit of 3 others in 4 dimensions says little, and small runs of 4-5-event channels lost them
LOO_MIN_PER_DIMENSION = 2
SLAB_WIDTH = 0.3  # a sub-level cut of directions: the halves at least this wide along the cut as the group across it


def _order_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0.. by decreasing size (ties: first occurrence); -1 stays -1."""
    out = np.full_like(labels, -1)
    ids = [c for c in np.unique(labels) if c >= 0]
    first = {c: int(np.flatnonzero(labels == c)[0]) for c in ids}
    order = sorted(ids, key=lambda c: (-(labels == c).sum(), first[c]))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def knee_eps(x: np.ndarray, k: int) -> float:
    """DBSCAN radius at the knee of the sorted k-distance curve (the point farthest from its chord)."""
    k = max(1, min(k, len(x) - 1))
    dist = np.sort(NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, k])
    if len(dist) < 3 or dist[-1] <= dist[0]:
        return float(max(dist[-1], 1e-9))
    t = np.linspace(0.0, 1.0, len(dist))
    d = (dist - dist[0]) / (dist[-1] - dist[0])
    return float(max(dist[int(np.argmax(t - d))], 1e-9))


def silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``labels`` (0..k−1, every group ≥ 2 points) from a square distance matrix."""
    onehot = np.eye(labels.max() + 1)[labels]
    counts = onehot.sum(axis=0)
    sums = dist @ onehot                                   # (n, k) summed distance to each group
    own = sums[np.arange(len(labels)), labels] / np.maximum(counts[labels] - 1, 1)
    other = np.where(onehot > 0, np.inf, sums / counts).min(axis=1)
    return float(np.mean(np.where(np.maximum(own, other) > 0, (other - own) / np.maximum(own, other), 0.0)))


def ward_cuts(tree: np.ndarray, ks) -> dict[int, np.ndarray]:
    """Labels of the cut of a scipy linkage ``tree`` into k clusters (its last k − 1 merges undone) for each k
    of ``ks``: the same partitions as ``fcluster(tree, k, 'maxclust')`` where merge heights do not tie, without
    fcluster's validation of the tree (two thirds of the time of the Gaussian nulls). Each point's cluster is
    its highest ancestor older than the undone merges, found by binary lifting (ancestor ids only grow)."""
    n = len(tree) + 1
    parent = np.full(2 * n - 1, 2 * n - 2, dtype=np.int64)
    children = tree[:, :2].astype(np.int64)
    parent[children[:, 0]] = parent[children[:, 1]] = np.arange(n, 2 * n - 1)
    jumps = [parent]  # jumps[j][i]: the 2^j-th ancestor of node i (the root is its own)
    while 2 ** (len(jumps) - 1) < n:
        jumps.append(jumps[-1][jumps[-1]])
    out = {}
    for k in ks:
        limit, node = 2 * n - k, np.arange(n)
        for table in reversed(jumps):
            up = table[node]
            node = np.where(up < limit, up, node)
        out[k] = np.unique(node, return_inverse=True)[1]
    return out


def best_ward_split(z: np.ndarray, max_k: int, min_size: int) -> tuple[np.ndarray, float]:
    """(labels, silhouette) of the best Ward cut of z into 2..max_k groups of at least ``min_size`` points.

    One Ward tree (scipy), cut at every k by ``fcluster`` (the data's merge heights can tie: copies of one event;
    the Gaussian nulls' cannot, and :func:`ward_cut_scores` cuts them faster); (zeros, −1) when no cut qualifies.
    """
    n = len(z)
    best, best_score = np.zeros(n, dtype=int), -1.0
    if n < 2 * min_size or n < 3:
        return best, best_score
    condensed = pdist(z)  # Euclidean: the distances scipy's Ward would compute from z itself
    tree = linkage(condensed, method="ward")
    dist = squareform(condensed)
    for k in range(2, min(max_k, n - 1) + 1):
        labels = fcluster(tree, k, criterion="maxclust") - 1
        counts = np.bincount(labels)
        if len(counts) < 2 or counts.min() < min_size:
            continue
        score = silhouette(dist, labels)
        if score > best_score:
            best, best_score = labels, float(score)
    return best, best_score


N_GRID = np.unique(np.round(np.geomspace(6, 2000, 40)).astype(int))


class _NullDraws:
    """The Gaussian null samples of one key, drawn lazily in a fixed order (one seeded generator) and kept.

    A sample's statistic depends on the smallest group a cut may leave, ``m``: the cuts allowed for a larger ``m``
    are a subset of those for a smaller one. So one set of samples serves every ``m`` (common random numbers: a
    null never reads more extreme for a larger smallest group), and a key holds, for every ``m`` from 0 to n // 2,
    the extreme of the samples drawn so far. ``draw(size)`` returns that profile over the next ``size`` samples
    (``largest``: max, else min); ``none`` is the statistic of a sample no cut of which qualifies (larger ``m``).

    A split test only asks whether any of the ``total`` samples is as extreme as the data: it draws until one
    is (the test fails, usually after a few samples) or all are drawn; the decision and every sample are those
    of drawing all of them at once. The batches grow from ``first_batch`` to ``batch`` (a test that fails is
    usually decided by its first few samples: on the 2,000-trajectory benchmark the axis nulls' draws took 3.0 s
    instead of 3.6 s)."""

    def __init__(self, draw, total: int, batch: int, largest: bool, none: float, first_batch: int = 16):
        self._draw, self.total, self.batch, self.largest, self.none = draw, int(total), int(batch), largest, none
        self._next = max(1, min(int(first_batch), self.batch))
        self.drawn, self._profile = 0, None

    def extreme(self, m: int) -> float:
        """The extreme over the samples drawn so far of cuts leaving groups of at least ``m`` points (±inf: none
        drawn)."""
        if self._profile is None:
            return -np.inf if self.largest else np.inf
        return float(self._profile[m]) if m < len(self._profile) else self.none

    def _reached(self, value: float, m: int) -> bool:
        return self.extreme(m) >= value if self.largest else self.extreme(m) <= value

    def reaches(self, value: float, m: int) -> bool:
        """True when a sample is at least as extreme as ``value`` (max ≥ value, or min ≤ value) with groups ≥ ``m``."""
        while not self._reached(value, m) and self.drawn < self.total:
            size = min(self._next, self.total - self.drawn)
            self._next = min(2 * self._next, self.batch)
            got = self._draw(size)
            self._profile = got if self._profile is None else (np.maximum if self.largest else np.minimum)(self._profile, got)
            self.drawn += size
        return self._reached(value, m)

    def value(self, m: int) -> float:
        """The extreme over all samples (all drawn) of cuts leaving groups of at least ``m`` points."""
        self.reaches(np.inf if self.largest else -np.inf, m)
        return self.extreme(m)


def ward_cut_scores(z: np.ndarray, max_k: int) -> list[tuple[int, float]]:
    """(smallest group, silhouette) of the Ward cut of continuous ``z`` into k groups for every k of 2..max_k
    whose groups all hold ≥ 2 points (:func:`ward_cuts`: the merge heights of a Gaussian sample do not tie)."""
    n = len(z)
    if n < 4:
        return []
    condensed = pdist(z)
    dist = squareform(condensed)
    cuts = ward_cuts(linkage(condensed, method="ward"), range(2, min(max_k, n - 1) + 1))
    out = []
    for labels in cuts.values():
        smallest = int(np.bincount(labels).min())
        if smallest >= 2:
            out.append((smallest, silhouette(dist, labels)))
    return out


@lru_cache(maxsize=4096)
def _silhouette_draws(n: int, ratios: tuple[float, ...], max_k: int, n_null: int) -> _NullDraws:
    rng = np.random.default_rng([n, *(int(round(r * 100)) for r in ratios), max_k, n_null])
    sd = np.sqrt(np.array((1.0, *ratios)))

    def draw(size: int) -> np.ndarray:  # best silhouette of a cut leaving groups >= m, for m = 0 .. n // 2
        best = np.full(n // 2 + 1, -1.0)
        for _ in range(size):
            for smallest, score in ward_cut_scores(rng.normal(size=(n, len(sd))) * sd, max_k):
                best[: smallest + 1] = np.maximum(best[: smallest + 1], score)
        return best

    return _NullDraws(draw, n_null, 1, largest=True, none=-1.0)


def _silhouette_null(n: int, min_size: int, variances: np.ndarray, max_k: int, n_null: int) -> tuple[_NullDraws, int]:
    n_grid, m_grid, ratios = _null_key(n, min_size, variances)
    return _silhouette_draws(n_grid, ratios, int(max_k), int(n_null)), m_grid


def null_silhouette(n: int, min_size: int, variances: np.ndarray, max_k: int, n_null: int) -> float:
    """Best Ward-split silhouette of the most structured of ``n_null`` Gaussian samples with these axis variances.

    The samples have n points on a grid (40 sizes from 6 to 2 000) and the variance ratios rounded to 0.05
    (silhouettes do not depend on scale); each null is drawn from a seed made of its key and cached, so resampled
    fits share their nulls, and one set of samples serves every smallest group size (:class:`_NullDraws`).
    :func:`beats_null_silhouette` draws only as many as its decision needs.
    """
    if n_null <= 0:
        return -1.0
    draws, m = _silhouette_null(n, min_size, variances, max_k, n_null)
    return draws.value(m)


def beats_null_silhouette(score: float, n: int, min_size: int, variances: np.ndarray, max_k: int, n_null: int) -> bool:
    """``score > null_silhouette(...)``, drawing the Gaussian samples only until one reaches ``score``: a split that
    fails costs the few Ward trees up to the first such sample, not ``n_null``."""
    if n_null <= 0:
        return True
    draws, m = _silhouette_null(n, min_size, variances, max_k, n_null)
    return not draws.reaches(score, m)


def _null_key(n: int, min_size: int, variances: np.ndarray, exact_up_to: int = 0) -> tuple[int, int, tuple[float, ...]]:
    """(sample size, smallest group, variance ratios) of the cached null that stands for ``n`` points: ``n`` on
    :data:`N_GRID` (exact up to ``exact_up_to``), the smallest group scaled with it (at least 2), the variances
    (largest first) over the first, rounded to 0.05."""
    n_grid = int(n) if n <= exact_up_to else int(N_GRID[np.argmin(np.abs(np.log(N_GRID / n)))])
    m_grid = max(2, int(round(min_size * n_grid / n)))
    if 2 * min_size <= n:  # a cut the data may have stays possible in the null's samples (rounding up made none)
        m_grid = min(m_grid, n_grid // 2)
    ratios = tuple(float(r) for r in np.round(np.clip(variances[1:] / max(variances[0], 1e-300), 0, 1) / 0.05) * 0.05)
    return n_grid, m_grid, ratios


def axis_split(values: np.ndarray, min_size: int) -> tuple[np.ndarray, float]:
    """(labels, W/T) of the best cut of 1-D ``values`` into two groups of at least ``min_size`` points: the cut
    with the least within-group sum of squares W (the exact 2-means optimum on a line), and W over the total
    sum of squares T; (zeros, 1.0) when no cut qualifies or the values do not vary."""
    values = np.asarray(values, dtype=float)
    n, min_size = len(values), max(int(min_size), 1)
    if n < 2 * min_size:
        return np.zeros(n, dtype=int), 1.0
    order = np.argsort(values, kind="stable")
    k, within, total = _cut_sums(values[order][None] - values.mean(), min_size)
    if total[0] <= 0:
        return np.zeros(n, dtype=int), 1.0
    best = int(k[np.argmin(within[0])])
    labels = np.ones(n, dtype=int)
    labels[order[:best]] = 0
    return labels, float(within[0].min() / total[0])


def _cut_sums(v: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows ``v`` (n_rows, n) sorted and centred: the sizes k of the lower group that leave both groups at
    least ``min_size`` points, the within-group sum of squares W of each cut (n_rows, len(k)), and each row's
    total sum of squares T."""
    n = v.shape[1]
    c, c2 = np.cumsum(v, axis=1), np.cumsum(v * v, axis=1)
    total = c2[:, -1] - c[:, -1] ** 2 / n
    k = np.arange(min_size, n - min_size + 1)  # points in the lower group
    ck, c2k = c[:, k - 1], c2[:, k - 1]
    within = (c2k - ck**2 / k) + ((c2[:, -1:] - c2k) - (c[:, -1:] - ck) ** 2 / (n - k))
    return k, within, total


def _top_axis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores of the rows of x on their own first principal axis, the variance sums along every axis, largest
    first) from one SVD."""
    centred = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[0], singular ** 2


def axis_ratio_profiles(values: np.ndarray) -> np.ndarray:
    """For every row of ``values`` (n_rows, n): W/T of :func:`axis_split` when the groups must hold at least ``m``
    points, for m = 0 .. n // 2 (m = 0 as m = 1), shape (n_rows, n // 2 + 1); 1.0 where a row does not vary.

    The least W over the cuts k in [m, n − m] is a running minimum from the middle cut outwards."""
    values = np.asarray(values, dtype=float)
    n = values.shape[1]
    out = np.ones((len(values), n // 2 + 1))
    if n < 2:
        return out
    _, within, total = _cut_sums(np.sort(values, axis=1) - values.mean(axis=1, keepdims=True), 1)
    half = np.arange(1, n // 2 + 1)
    pair = np.minimum(within[:, half - 1], within[:, n - half - 1])  # cut k and its mirror n − k
    least = np.minimum.accumulate(pair[:, ::-1], axis=1)[:, ::-1]  # over k = m .. n // 2
    varies = total > 0
    out[varies, 1:] = least[varies] / total[varies, None]
    out[:, 0] = out[:, 1]
    return out


NULL_BATCH = 256  # Gaussian samples drawn and reduced at once (memory: NULL_BATCH x n x dims floats)


@lru_cache(maxsize=4096)
def _axis_draws(n: int, ratios: tuple[float, ...], n_null: int) -> _NullDraws:
    rng = np.random.default_rng([n, *(int(round(r * 100)) for r in ratios), n_null, 1])
    sd = np.sqrt(np.array((1.0, *ratios)))

    def draw(size: int) -> np.ndarray:  # the same draws, in the same order, as one sample at a time
        samples = rng.normal(size=(size, n, len(sd))) * sd
        centred = samples - samples.mean(axis=1, keepdims=True)
        top = np.linalg.eigh(np.matmul(centred.transpose(0, 2, 1), centred))[1][:, :, -1]  # each sample's first axis
        return axis_ratio_profiles(np.matmul(centred, top[:, :, None])[:, :, 0]).min(axis=0)

    return _NullDraws(draw, n_null, NULL_BATCH, largest=False, none=1.0)


def _axis_null(n: int, min_size: int, variances: np.ndarray, n_null: int) -> tuple[_NullDraws, int]:
    # exact up to 100 points: there a grid size changes which cuts a minimum group size allows
    variances = np.sort(np.asarray(variances, dtype=float))[::-1]
    n_grid, m_grid, ratios = _null_key(n, min_size, variances, exact_up_to=100)
    return _axis_draws(n_grid, ratios, int(n_null)), m_grid


def null_axis_ratio(n: int, min_size: int, variances: np.ndarray, n_null: int) -> float:
    """The least W/T of :func:`axis_split` on the first principal axis of ``n_null`` Gaussian samples with these
    axis variances (each sample's own principal axis, as the data's is its own): what one Gaussian cloud's
    best cut along its longest axis reaches by chance. Sizes above 100 on :data:`N_GRID`, variance ratios rounded
    to 0.05, seeded from its key and cached, as :func:`null_silhouette`."""
    if n_null <= 0:
        return 0.0
    draws, m = _axis_null(n, min_size, variances, n_null)
    least = draws.value(m)
    return least if np.isfinite(least) else 0.0


# a sub-level cut whose halves are thin (SLAB_WIDTH) is still taken when its W/T is below this quantile of the best
# cut of evenly spread points (uniform on a line: the slab a channel's own directions can be): such halves have a gap
# between them, a slab cut in two has none. Planted CH2NH2+ (seed 5 of bench/independent_planted.py through the
# pipeline): "C=N torsion" (14 events) and "torsion + C pyramidalization" (6) cut exactly at W/T 0.098, their halves
# 19.4 wide along the cut and 78.6 across (the torsion channel's directions spread across it), so the slab test had
# joined them (ARI 0.75); 20 uniform points reach 0.109 at 1 % (median 0.234). The 40-event NH2 out-of-plane channel
# the slab test was made for cut at 0.19 (40 uniform points: 0.152 at 1 %) and stays one channel.
SLAB_UNIFORM_LEVEL = 0.01
UNIFORM_DRAWS = 4000


@lru_cache(maxsize=512)
def _uniform_cut_quantiles(n: int) -> np.ndarray:
    """The :data:`SLAB_UNIFORM_LEVEL` quantile of :func:`axis_split`'s W/T for ``n`` uniform points, for every
    smallest group m = 0 .. n // 2 (:data:`UNIFORM_DRAWS` samples seeded by ``n``, cached)."""
    rng = np.random.default_rng([int(n), UNIFORM_DRAWS, 2])
    return np.quantile(axis_ratio_profiles(rng.uniform(size=(UNIFORM_DRAWS, int(n)))), SLAB_UNIFORM_LEVEL, axis=0)


def beats_uniform_cap(ratio: float, n: int, min_size: int) -> bool:
    """Whether a cut of ``n`` points into groups of at least ``min_size`` with W/T ``ratio`` lies below the
    :data:`SLAB_UNIFORM_LEVEL` quantile of the same cut of ``n`` evenly spread (uniform) points: a gap, not a slab."""
    if n < 4:
        return False
    return bool(ratio < _uniform_cut_quantiles(int(n))[min(max(int(min_size), 1), int(n) // 2)])


def beats_null_axis_ratio(ratio: float, n: int, min_size: int, variances: np.ndarray, n_null: int) -> bool:
    """``ratio < null_axis_ratio(...)``, drawing the samples (in batches of :data:`NULL_BATCH`) only until one
    reaches ``ratio``."""
    if n_null <= 0:
        return False
    draws, m = _axis_null(n, min_size, variances, n_null)
    return not draws.reaches(ratio, m) and np.isfinite(draws.extreme(m))


def outlying_members(x: np.ndarray, top: np.ndarray, quantile: float = OUTLYING_QUANTILE) -> np.ndarray:
    """Members outside their own cluster's ``quantile`` prediction region from the rest of it (boolean mask).

    Each member is tested against its cluster without it: Hotelling's prediction statistic
    m/(m+1) · (x − x̄₍ᵢ₎)ᵀ C₍ᵢ₎⁻¹ (x − x̄₍ᵢ₎) (m = n − 1 others, C₍ᵢ₎ their sample covariance, all members at once by a
    rank-one downdate) against ((m − 1) p / (m − p)) · F(p, m − p) at ``quantile``. HDBSCAN keeps a point in the
    cluster it falls out of, however late: a lone event far from every channel (an H atom flying off) joined one
    and, being far, moved the channel's mean motion. Clusters with m − p < 3 are not tested."""
    from scipy.stats import f as f_dist

    out = np.zeros(len(x), dtype=bool)
    p = x.shape[1]
    for c in np.unique(top[top >= 0]):
        idx = np.flatnonzero(top == c)
        m = len(idx) - 1
        if m - p < 3:
            continue
        d = x[idx] - x[idx].mean(axis=0)
        try:
            s_inv = np.linalg.inv(d.T @ d)
        except np.linalg.LinAlgError:
            continue
        h = np.einsum("ij,jk,ik->i", d, s_inv, d)  # leverages
        k = (m + 1) / m
        with np.errstate(divide="ignore"):
            q = np.where(1.0 - k * h > 1e-12, h / (1.0 - k * h), np.inf)  # d S₍ᵢ₎⁻¹ d (Sherman–Morrison)
        stat = (m / (m + 1)) * k**2 * (m - 1) * q
        out[idx[stat > (m - 1) * p / (m - p) * f_dist.ppf(quantile, p, m - p)]] = True
    return out


def gaussian_polish(x: np.ndarray, top: np.ndarray, n_iter: int = 3, leave_one_out: bool = False) -> np.ndarray:
    """Clustered points move to the cluster of highest Gaussian likelihood (Ledoit–Wolf covariance, size prior).

    Density clustering cuts between touching clouds along the density valley of *its* tree, which puts a few
    edge points of one cloud in its neighbour; a few hard-EM steps on the clustered points fix that. With
    ``leave_one_out`` a member is scored under its own cluster without itself
    (:func:`analysis.shrunk_gaussian.leave_one_out_costs`) where the others number at least
    :data:`LOO_MIN_PER_DIMENSION` per dimension: in the fit it helped make, an edge event of a 21-event cluster looked
    nearer to it than to the 19-event channel it was planted in (cost 20.9 against 26.0; 28.0 without itself).
    Level A uses it once the density noise has joined (full clusters); on the density cores alone (5-8 events) it
    emptied a channel's core into its neighbour. Noise stays noise; clusters never vanish (a step that would
    empty one is not taken).
    """
    top = top.copy()
    clustered = np.flatnonzero(top >= 0)
    for _ in range(n_iter):
        labels = top[clustered]
        ids, sizes = np.unique(labels, return_counts=True)
        if len(ids) < 2 or sizes.min() <= 2:
            return top
        cost = np.empty((len(clustered), len(ids)))
        for j, (c, size) in enumerate(zip(ids, sizes)):
            own = labels == c
            members = x[clustered[own]]
            cost[:, j] = gaussian_costs(x[clustered], members) - 2.0 * np.log(size)
            if leave_one_out and size - 1 >= LOO_MIN_PER_DIMENSION * x.shape[1]:
                cost[own, j] = leave_one_out_costs(members) - 2.0 * np.log(size - 1)
        new = ids[np.argmin(cost, axis=1)]
        if np.array_equal(new, labels) or len(np.unique(new)) < len(ids):
            return top
        top[clustered] = new
    return top


def directions_from(x: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Each row's direction from ``origin``, at the rows' median distance from it: (x − o) / |x − o| · median |x − o|
    (a row at the origin stays there).

    A channel's events lie along a ray from the Franck–Condon point: how far along depends on when the trajectory
    hopped and how large its motion is, not on which channel it took. In positions such rays are elongated clouds
    that meet near their origin, and the density step and the split tests merge them; their directions are compact
    and apart."""
    v = np.asarray(x, dtype=float) - np.asarray(origin, dtype=float)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    scale = float(np.median(norm)) if len(norm) else 1.0
    return np.where(norm > 0, v / np.where(norm > 0, norm, 1.0), 0.0) * scale


class HierarchicalClustering(ClusterMixin, BaseEstimator):
    """Density-based top level, agglomerative sub-levels, knobs from the data.

    When the density step finds no cluster at all (HDBSCAN never returns the whole set as one), the events are one
    cloud: one level-A group, the points outside its 99.9 % ellipsoid ``unresolved``; the sub-levels split it where
    it has structure.

    Parameters
    ----------
    method : {'hdbscan', 'dbscan'}
    min_cluster_size : int       smallest channel (events), also HDBSCAN min_cluster_size / DBSCAN min_samples …
    min_share : float            … raised to this fraction of the events (a 5 000-event ensemble is not cut into
                                 channels of 5) …
    small_run_share : float      … and lowered, in a run with fewer than min_cluster_size / small_run_share events,
                                 to this fraction of them (at least 3; 0: never lowered)
    min_samples : int or None    HDBSCAN's neighbourhood for core distances (None: the smallest channel size); a
                                 small one finds small channels, and the merge test undoes the pieces it cuts
    eps : float or 'auto'        DBSCAN radius in score units; 'auto': the knee of the k-distance curve
    levels : int                 number of label levels (1 = density clustering only)
    max_subclusters : int        most Ward groups tried in one split
    min_silhouette : float       a split must reach this silhouette on the group's own principal axes …
    split_components : int       … computed on this many of the group's own principal axes …
    n_null : int                 … and beat the best split of each of this many Gaussian samples with the group's
                                 covariance (thermal noise has no sub-structure); the same test merges level-A
                                 density clusters whose union it would not split
    noise : {'reach', 'keep', 'nearest'}
                                 density noise inside a cluster's 99.9 % Gaussian ellipsoid (Ledoit–Wolf
                                 covariance) joins it and the rest stays ``unresolved`` ('reach'); all noise stays
                                 ``unresolved`` ('keep'); every noise point joins its nearest cluster ('nearest').
                                 Before that (not with 'nearest'), a member far outside its own cluster without it
                                 (:func:`outlying_members`) is noise: HDBSCAN keeps such a lone event in a channel
    density_components : int or None
                                 leading score columns used by level A (None: all); sub-levels use all columns
    max_split_points : int       a larger group's split is judged on a seeded random subset of this size
    origin : array or None       the Franck–Condon point in the same coordinates: the events are clustered by their
                                 direction from it (:func:`directions_from`); None, or events of one column (a
                                 direction there is only a sign): by their position
    random_state : int           seeds subsets and null samples

    Attributes
    ----------
    labels_ : ndarray of str     e.g. 'A1B2', or 'unresolved'
    top_labels_ : ndarray of int level-A cluster (−1 unresolved)
    is_noise_ : ndarray of bool  the density step called the point noise (it may have joined a cluster since)
    min_cluster_size_ : int      the smallest channel size used
    by_direction_ : bool         whether the events were clustered by their direction from ``origin``
    eps_ : float                 DBSCAN radius used (dbscan only)
    """

    def __init__(self, method="hdbscan", min_cluster_size=MIN_CLUSTER_SIZE, min_share=MIN_SHARE, min_samples=3, eps="auto", levels=3,
                 max_subclusters=4, min_silhouette=0.5, split_components=2, n_null=100, noise="reach",
                 density_components=None, max_split_points=400, small_run_share=SMALL_RUN_SHARE, origin=None, random_state=0):
        self.method = method
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.min_share = min_share
        self.small_run_share = small_run_share
        self.origin = origin
        self.eps = eps
        self.levels = levels
        self.max_subclusters = max_subclusters
        self.min_silhouette = min_silhouette
        self.split_components = split_components
        self.n_null = n_null
        self.noise = noise
        self.density_components = density_components
        self.max_split_points = max_split_points
        self.random_state = random_state

    def _density(self, x: np.ndarray, min_size: int) -> np.ndarray:
        if self.method == "hdbscan":
            import hdbscan

            min_samples = min(int(self.min_samples), min_size) if self.min_samples else None
            return hdbscan.HDBSCAN(min_cluster_size=min_size, min_samples=min_samples).fit_predict(x)
        if self.method == "dbscan":
            self.eps_ = knee_eps(x, min_size) if self.eps == "auto" else float(self.eps)
            return DBSCAN(eps=self.eps_, min_samples=min_size).fit_predict(x)
        raise ValueError(f"cluster.method: unknown method {self.method!r}; expected hdbscan or dbscan")

    def _split(self, x: np.ndarray, rng: np.random.Generator, min_size: int, slab_test: bool = False) -> np.ndarray:
        """Labels of the accepted split of one group, or zeros (see the class docstring): the Ward split when its
        silhouette beats the Gaussian null, else the cut along the first axis (:meth:`_axis_split`).

        The sub-levels of a fit on directions (``origin``) take the axis cut with ``slab_test``: one channel's
        directions can lie on a bounded slab (a cap of a sphere), and the cut along its long axis beats the Gaussian
        null that a cloud's cut would not (measured: a planted 40-event NH2 out-of-plane channel cut 21/19, W/T 0.19
        on an axis barely longer than the next); such halves are thin along the cut, two thermal sub-channels are
        round (:meth:`_axis_split`). Without the axis cut a C1 envelope beside a C1/C4 boat (15 + 15 events, 4.5 sd
        apart on one axis) stayed one channel. The merge test of level-A clusters keeps the plain axis test: there it
        tells two rays apart that the silhouette on two axes misses (a planted acrolein: ARI 0.69 without it, 0.91
        with)."""
        n = len(x)
        k_axes = max(1, min(self.split_components, x.shape[1], n - 1))
        z = PCA(n_components=k_axes, svd_solver="full").fit_transform(x)
        sub = np.sort(rng.choice(n, self.max_split_points, replace=False)) if n > self.max_split_points else np.arange(n)
        min_sub = max(2, int(min_size * len(sub) / n))
        labels, score = best_ward_split(z[sub], self.max_subclusters, min_sub)
        if score < self.min_silhouette or not beats_null_silhouette(score, len(sub), min_sub, np.var(z[sub], axis=0),
                                                                      self.max_subclusters, self.n_null):
            labels = self._axis_split(x[sub], min_sub, slab_test=slab_test)
            if not labels.any():
                return np.zeros(n, dtype=int)
        if len(sub) < n:  # every member joins the nearest group centre of the subset's split
            centres = np.array([z[sub][labels == g].mean(axis=0) for g in range(labels.max() + 1)])
            labels = np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
            if np.bincount(labels).min() < min_size:
                return np.zeros(n, dtype=int)
        return _order_by_size(labels)

    def _axis_split(self, x: np.ndarray, min_size: int, slab_test: bool = False) -> np.ndarray:
        """Labels of the two-group cut along the group's longest principal axis, or zeros: accepted when its W/T
        (:func:`axis_split`) is below that of every one of ``AXIS_NULL_FACTOR`` × ``n_null`` Gaussian samples of
        the group's own covariance. Two channels apart along one axis, with noise of the same size on the next,
        dilute a silhouette on two axes; the cut along the one axis still shows them. Without the silhouette's
        floor this test alone decides, so it asks for the stricter chance level (1 in 1,001 at ``n_null`` 100).

        ``slab_test``: the cut is refused when its halves are thin, their within-group variance along the cut below
        :data:`SLAB_WIDTH` times the group's variance along its second axis (thermal noise is about as wide along
        the cut as across it; an evenly spread cap is not two channels), unless the cut is sharper than evenly spread
        points allow (:func:`beats_uniform_cap`: thin halves with a gap between them)."""
        scores, variances = _top_axis(x)
        labels, ratio = axis_split(scores, min_size)
        slab = (slab_test and len(variances) > 1 and ratio * variances[0] < SLAB_WIDTH * variances[1]
                and not beats_uniform_cap(ratio, len(x), min_size))
        if not labels.any() or slab or not beats_null_axis_ratio(ratio, len(x), min_size, variances,
                                                                 AXIS_NULL_FACTOR * self.n_null):
            return np.zeros(len(x), dtype=int)
        return labels

    def _merge(self, x: np.ndarray, top: np.ndarray, rng: np.random.Generator, min_size: int,
               x_judged: np.ndarray | None = None) -> np.ndarray:
        """Merge neighbouring density clusters (each with its two nearest, by centroid) whose union is not split.

        The union is judged with the density noise that lies nearest to either cluster: without it, the gap the
        density step carved between two halves of one cloud would look like sub-structure. Neighbours are found
        in ``x`` (the density columns); the split is judged in ``x_judged`` (default ``x``), the columns a
        sub-level split would see: on one density column alone the halves of one cloud look apart. The question is
        whether the union holds two groups as large as the two clusters, so the split (and its null) allows no group
        smaller than the smaller cluster: a null that allows any cut into groups of ``min_size`` is more extreme,
        and with small runs (three channels of 5, groups of 3 allowed) it merged real channels.
        """
        x_judged = x if x_judged is None else x_judged
        noise = top < 0
        top = self._attach_noise(x, top, "nearest")
        apart: set[tuple[int, int]] = set()
        while True:
            ids = [int(c) for c in np.unique(top) if c >= 0]
            if len(ids) < 2:
                return np.where(noise, -1, top)
            centres = np.array([x[top == c].mean(axis=0) for c in ids])
            dist = ((centres[:, None] - centres[None]) ** 2).sum(axis=2)
            np.fill_diagonal(dist, np.inf)
            pairs = sorted({(dist[i, j], min(ids[i], ids[j]), max(ids[i], ids[j]))
                            for i in range(len(ids)) for j in np.argsort(dist[i])[:2] if np.isfinite(dist[i, j])})
            for _, a, b in pairs:
                if (a, b) in apart:
                    continue
                smaller = min(int((top == a).sum()), int((top == b).sum()))
                if self._split(x_judged[(top == a) | (top == b)], rng, max(min_size, smaller)).any():
                    apart.add((a, b))
                    continue
                top = np.where(top == b, a, top)
                apart = {p for p in apart if a not in p and b not in p}
                break
            else:
                return np.where(noise, -1, top)

    def _attach_noise(self, x: np.ndarray, top: np.ndarray, how: str) -> np.ndarray:
        """Density noise joins a cluster as ``how`` says (see ``noise``)."""
        noise = np.flatnonzero(top < 0)
        ids = [int(c) for c in np.unique(top) if c >= 0]
        if not len(noise) or not ids or how == "keep":
            return top
        if how == "nearest":
            core = np.flatnonzero(top >= 0)
            idx = NearestNeighbors(n_neighbors=1).fit(x[core]).kneighbors(x[noise])[1][:, 0]
            top = top.copy()
            top[noise] = top[core[idx]]
            return top
        if how != "reach":
            raise ValueError(f"cluster.noise: {how!r}; expected reach, keep or nearest")
        top, limit = top.copy(), chi2.ppf(NOISE_REACH_QUANTILE, df=x.shape[1])
        while len(noise):  # a cluster's covariance from its density core is too narrow: grow until nothing joins
            d2 = np.full((len(noise), len(ids)), np.inf)
            for j, c in enumerate(ids):
                members = x[top == c]
                if len(members) > 2:
                    d2[:, j] = LedoitWolf().fit(members).mahalanobis(x[noise])
            best = np.argmin(d2, axis=1)
            inside = d2[np.arange(len(noise)), best] <= limit
            if not inside.any():
                break
            top[noise[inside]] = np.array(ids)[best[inside]]
            noise = noise[~inside]
        return top

    @staticmethod
    def _one_cloud(x: np.ndarray) -> np.ndarray:
        """Labels when the density step finds no cluster at all: one cloud (0), and the points outside its 99.9 %
        Gaussian ellipsoid (Ledoit–Wolf covariance) unresolved. HDBSCAN never returns the whole set as one cluster,
        so an ensemble with one channel came out all noise; the sub-levels still split the cloud where it has
        structure."""
        inside = LedoitWolf().fit(x).mahalanobis(x) <= chi2.ppf(NOISE_REACH_QUANTILE, df=x.shape[1])
        return np.where(inside, 0, -1)

    def _level_a(self, x: np.ndarray, rng: np.random.Generator, min_size: int, x_judged: np.ndarray | None = None) -> np.ndarray:
        top = self._density(x, min_size) if len(x) >= 2 else np.full(len(x), -1, dtype=int)
        if (top < 0).all() and len(x) >= min_size:
            top = self._one_cloud(x)
            log.debug("density clustering found no cluster in %d points: one cloud of %d, %d outliers", len(x),
                      int((top == 0).sum()), int((top < 0).sum()))
        self.is_noise_ = top < 0
        if (top < 0).all():
            log.debug("density clustering found no cluster in %d points (min_cluster_size=%d): all unresolved", len(x), min_size)
            return top
        top = gaussian_polish(x, self._merge(x, top, rng, min_size, x_judged))
        if self.noise != "nearest":  # 'nearest' puts every point in a cluster by design
            far = outlying_members(x, top)
            top[far] = -1
            self.is_noise_ = self.is_noise_ | far
        attached = self._attach_noise(x, top, self.noise)
        if self.noise != "keep":
            attached = gaussian_polish(x, attached, leave_one_out=True)
        return _order_by_size(attached)

    def fit(self, x: np.ndarray, y=None) -> "HierarchicalClustering":
        x = np.array(x, dtype=float)  # a writable copy: hdbscan refuses read-only (copy-on-write pandas) buffers
        # on one column a direction is only a sign: every event on one side of the FC point would be one point (a
        # diatomic's channels, hops at a short and a long bond, merged), so such events are clustered by position
        self.by_direction_ = self.origin is not None and x.shape[1] > 1
        if self.by_direction_:
            x = directions_from(x, np.asarray(self.origin, dtype=float)[: x.shape[1]])
        rng = np.random.default_rng(self.random_state)
        min_size = self.min_cluster_size_ = smallest_channel(len(x), self.min_cluster_size, self.min_share,
                                                                  self.small_run_share)
        top = self.top_labels_ = self._level_a(x[:, : self.density_components or x.shape[1]], rng, min_size, x)
        labels = np.array([(UNRESOLVED if t < 0 else f"A{t + 1}") for t in top], dtype=object)
        groups = {lab: np.flatnonzero(labels == lab) for lab in np.unique(labels) if lab != UNRESOLVED}
        for level in range(1, self.levels):
            letter, new_groups = string.ascii_uppercase[level], {}
            for lab, members in groups.items():
                sub = (self._split(x[members], rng, min_size, slab_test=self.by_direction_) if len(members) >= 2 * min_size
                       else np.zeros(len(members), dtype=int))
                for s in np.unique(sub):
                    name = f"{lab}{letter}{s + 1}"
                    labels[members[sub == s]] = name
                    if sub.any():  # a group that was not split is not tested again on the same points
                        new_groups[name] = members[sub == s]
            groups = new_groups
        self.labels_ = labels
        return self
