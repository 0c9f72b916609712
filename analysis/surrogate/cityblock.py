"""L1 (cityblock) distances between descriptor rows, for the Laplacian kernel.

SciPy's ``cdist(a, b, "cityblock")`` walks one pair of rows at a time. Compiled with numba, the loop below takes one
row of ``a`` against a block of *columns* of ``b``ᵀ, so the innermost loop runs along a contiguous row of the output
and vectorizes; where ``a`` is ``b`` (a kernel's training block) only the upper triangle is summed and mirrored. Both
add the features in the same order as SciPy, so the distances are bit-identical to ``cdist``'s. Measured on this
machine (4,000 x 4,000 rows of 276 inverse distances, azobenzene): cdist 2.5-3.0 s, the compiled loop in its
symmetric form about 0.5 s.

numba is imported only when a product is large enough to pay for it (loading the compiled loop costs ~0.5 s and
~100 MB in a process that has not imported numba); smaller products, or a machine without numba, use SciPy.
"""

from __future__ import annotations

import numpy as np

# below this many row pairs x features SciPy's cdist takes under 0.6 s: less than loading numba would cost a process
COMPILED_MIN_WORK = 1e9

# columns of b per pass (512 x 1,225 features, 50 atoms: 5 MB). Measured, 1,024 x 4,000 rows: 276 features 0.24-0.26 s
# with or without blocks (SciPy 0.64 s); 1,225 features 2.1 s unblocked, 1.3 s in blocks of 512 or 1,024 (SciPy 3.1 s):
# without blocks every row of a reads all of b, from memory once b outgrows the cache
COLUMN_BLOCK = 512

_compiled = None


def _rows_against_columns_impl(a, b_t, out, symmetric, block):
    n_a, n_b = a.shape[0], b_t.shape[1]
    for j0 in range(0, n_b, block):  # a block of b's columns stays in cache while every row of a passes it
        j1 = min(n_b, j0 + block)
        for i in range(min(n_a, j1) if symmetric else n_a):
            first = max(j0, i) if symmetric else j0
            row = out[i, first:j1]
            row[:] = 0.0
            for k in range(a.shape[1]):
                a_ik = a[i, k]
                column = b_t[k, first:j1]
                for j in range(row.shape[0]):
                    row[j] += abs(a_ik - column[j])
    if symmetric:  # the lower triangle from the upper, in 64 x 64 tiles (a column at a time would miss the cache)
        for i0 in range(0, n_a, 64):
            for j0 in range(0, i0 + 1, 64):
                for i in range(i0, min(n_a, i0 + 64)):
                    for j in range(j0, min(i, j0 + 64)):
                        out[i, j] = out[j, i]


def _compiled_loop():
    """The numba-compiled loop, or None without numba."""
    global _compiled
    if _compiled is None:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a dependency; kept for a stripped environment
            _compiled = False
        else:
            _compiled = numba.njit(cache=True, nogil=True)(_rows_against_columns_impl)
    return _compiled or None


def cityblock_distances(a, b) -> np.ndarray:
    """(len(a), len(b)) L1 distances between the rows of ``a`` and of ``b`` (float64), equal to SciPy's
    ``cdist(a, b, "cityblock")``; when ``b`` is ``a`` the result is exactly symmetric."""
    symmetric = b is a
    a = np.ascontiguousarray(a, dtype=float)
    b = a if symmetric else np.ascontiguousarray(b, dtype=float)
    loop = _compiled_loop() if len(a) * len(b) * a.shape[1] >= COMPILED_MIN_WORK else None
    if loop is None:
        from scipy.spatial.distance import cdist

        return cdist(a, b, "cityblock")
    out = np.empty((len(a), len(b)))
    loop(a, np.ascontiguousarray(b.T), out, symmetric, COLUMN_BLOCK)
    return out
