"""Compiled (numba) parsing of whitespace-separated decimal fields straight from a file's bytes.

Used by the fast readers when numba is installed; :func:`parse_fields` returns None otherwise and the
caller uses pandas' C parser instead. Only plain decimals are accepted here — ``[sign]digits[.digits]``
with at most 15 digits — so that ``mantissa / 10**k`` (both exact in float64, one correctly rounded IEEE
division) is bit-identical to Python's ``float()``. Anything else (exponents, ``nan``, a wrong field count)
marks the line irregular and the caller falls back to a slower, line-exact parser.
"""

from __future__ import annotations

import numpy as np

try:  # optional accelerator
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

_POW10 = np.array([10.0**k for k in range(23)])


def _parse_impl(buf, starts, ends, n_fields, want, n_want, out, pow10):
    n = starts.shape[0]
    for i in range(n):
        p = starts[i]
        e = ends[i]
        field = 0
        col = 0
        while True:
            while p < e and (buf[p] == 32 or buf[p] == 9 or buf[p] == 13):
                p += 1
            if p >= e:
                break
            q = p
            while q < e and not (buf[q] == 32 or buf[q] == 9 or buf[q] == 13):
                q += 1
            if field < n_fields and want[field]:
                k = p
                neg = False
                if buf[k] == 45 or buf[k] == 43:
                    neg = buf[k] == 45
                    k += 1
                mant = 0
                n_dig = 0
                n_frac = 0
                seen_dot = False
                ok = k < q
                while k < q:
                    c = buf[k]
                    if c >= 48 and c <= 57:
                        mant = mant * 10 + (c - 48)
                        n_dig += 1
                        if seen_dot:
                            n_frac += 1
                    elif c == 46 and not seen_dot:
                        seen_dot = True
                    else:
                        ok = False
                        break
                    k += 1
                if not ok or n_dig == 0 or n_dig > 15 or n_frac > 22:
                    return i
                v = mant / pow10[n_frac]
                out[i, col] = -v if neg else v
                col += 1
            field += 1
            p = q
        if field != n_fields or col != n_want:
            return i
    return -1


_parse = numba.njit(cache=True, nogil=True)(_parse_impl) if numba is not None else None


def parse_fields(raw: bytes, starts, ends, n_fields: int, usecols) -> tuple[np.ndarray, int] | None:
    """Wanted decimal fields of the lines ``raw[starts[i]:ends[i]]``.

    Returns
    -------
    (values (n_lines, len(usecols)), first_irregular_line_index or -1), or None without numba.
    """
    if _parse is None:
        return None
    want = np.zeros(n_fields, dtype=np.bool_)
    want[list(usecols)] = True
    out = np.empty((len(starts), len(usecols)))
    bad = _parse(np.frombuffer(raw, dtype=np.uint8), np.ascontiguousarray(starts, dtype=np.int64),
                 np.ascontiguousarray(ends, dtype=np.int64), n_fields, want, len(usecols), out, _POW10)
    return out, int(bad)
