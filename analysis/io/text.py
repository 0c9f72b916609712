"""Shared text handling for the readers: safe decoding and bulk number parsing with line-exact errors.

The bulk path parses plain decimals with the compiled parser of :mod:`analysis.io.tokenize`, anything else
(exponents, NaN) with pandas' C parser (≈10 M numbers/s here); when both fail, :func:`parse_rows` re-parses
line by line only to name the first bad line in the error.

Every file may also be stored compressed (``dyn.out.gz``, ``output.dat.bz2``, ``coords.xyz.xz``: how finished
runs are archived): the readers ask for the plain name, :func:`analysis.io.paths.resolve` finds the file as it
is stored, and :func:`read_bytes` decompresses it; line numbers in errors are lines of the decompressed text.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.io.errors import TrajectoryFormatError
from analysis.io.paths import COMPRESSED, resolve

_TEXT_BYTES = np.zeros(256, dtype=bool)
_TEXT_BYTES[[9, 10, 13]] = True
_TEXT_BYTES[32:127] = True


_ALLOWED = bytes([9, 10, 13]) + bytes(range(32, 127))
_BLANK = np.zeros(256, dtype=bool)
_BLANK[[9, 10, 13, 32]] = True


DECOMPRESS = dict(zip(COMPRESSED, (gzip.decompress, bz2.decompress, lzma.decompress)))


def file_bytes(path: str | Path) -> bytes:
    """The bytes of ``path`` as :func:`analysis.io.paths.resolve` finds it, decompressed; no checks of what they hold.

    Raises
    ------
    FileNotFoundError
        Neither the file nor a compressed form exists.
    TrajectoryFormatError
        A compressed file that cannot be decompressed (truncated or not what its suffix says).
    """
    path = Path(path)
    stored = resolve(path)
    if stored is None:
        raise FileNotFoundError(errno.ENOENT, f"No such file (nor {', '.join(path.name + s for s in COMPRESSED)})",
                                str(path))
    decompress = DECOMPRESS.get(stored.suffix)
    if decompress is None:
        return stored.read_bytes()
    try:
        return decompress(stored.read_bytes())
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise TrajectoryFormatError(stored, None, f"a complete {stored.suffix[1:]} file ({type(exc).__name__}: {exc})") from None


def open_stored(path: str | Path):
    """A binary file object reading ``path`` as stored (see :func:`analysis.io.paths.resolve`), decompressing on the fly:
    for a look at a file's first bytes without reading all of it.

    Raises
    ------
    FileNotFoundError
        Neither the file nor a compressed form exists.
    """
    path = Path(path)
    stored = resolve(path)
    if stored is None:
        raise FileNotFoundError(errno.ENOENT, "No such file", str(path))
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(stored.suffix, open)
    return opener(stored, "rb")


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes (decompressed where it is stored compressed, see :func:`analysis.io.paths.resolve`; a leading UTF-8
    byte-order mark dropped; line ends that are not ``\\n`` or ``\\r\\n`` made ``\\n``), refusing empty files and
    anything that is not plain ASCII text."""
    path = Path(path)
    raw = file_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (a CSV saved by a spreadsheet): not part of the text
        raw = raw[3:]
    # a two-byte search costs 20x the one-byte one (0.85 vs 0.04 ms per MB), and most files have no CR at all
    if b"\r" in raw:
        if b"\r\r" in raw:  # CR CR LF: a Windows file converted to Windows line ends once more (a copy, a git checkout)
            raw = raw.replace(b"\r", b"")
        elif b"\n" not in raw:  # classic Mac line ends
            raw = raw.replace(b"\r", b"\n")
    if not raw or raw.isspace():
        raise TrajectoryFormatError(path, 1, "a non-empty file")
    if raw.translate(None, _ALLOWED):  # something left after deleting the allowed bytes
        buf = np.frombuffer(raw, dtype=np.uint8)
        first = int(np.flatnonzero(~_TEXT_BYTES[buf])[0])
        line = raw.count(b"\n", 0, first) + 1
        raise TrajectoryFormatError(path, line, f"plain ASCII text (found byte 0x{raw[first]:02x})")
    return raw


def read_text(path: str | Path) -> str:
    """:func:`read_bytes`, decoded."""
    return read_bytes(path).decode("ascii")


def line_offsets(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before ``\\r\\n``/``\\n``) byte offsets of every line."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(raw)]))
    if starts[-1] == len(raw):  # file ends with a newline: no empty last line
        starts, ends = starts[:-1], ends[:-1]
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - cr


def byte_at(raw: bytes, starts: np.ndarray, ends: np.ndarray, k: int) -> np.ndarray:
    """Byte ``k`` of every line (0 where the line is shorter)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    idx = starts + k
    return np.where(idx < ends, buf[np.minimum(idx, len(buf) - 1)], 0)


def line_heads(raw: bytes, starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """First ``width`` bytes of every line as an (n_lines, width) uint8 array, zero-padded."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    idx = starts[:, None] + np.arange(width)[None, :]
    inside = idx < ends[:, None]
    return np.where(inside, buf[np.minimum(idx, len(buf) - 1)], 0).astype(np.uint8)


def lines_starting_with(raw: bytes, starts: np.ndarray, ends: np.ndarray, candidates: np.ndarray,
                        prefixes: tuple[bytes, ...]) -> np.ndarray:
    """Boolean mask over all lines: the candidate lines that start with one of ``prefixes``."""
    out = np.zeros(len(starts), dtype=bool)
    idx = np.flatnonzero(candidates)
    if idx.size == 0:
        return out
    width = max(len(p) for p in prefixes)
    heads = line_heads(raw, starts[idx], ends[idx], width)
    hit = np.zeros(idx.size, dtype=bool)
    for prefix in prefixes:
        hit |= head_is(heads, prefix)
    out[idx[hit]] = True
    return out


def head_is(heads: np.ndarray, prefix: bytes, offset: int = 0) -> np.ndarray:
    """Lines whose bytes at ``offset`` start with ``prefix``."""
    want = np.frombuffer(prefix, dtype=np.uint8)
    return (heads[:, offset:offset + len(want)] == want).all(axis=1)


def join_ranges(raw: bytes, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The byte ranges ``raw[start:end]``, each followed by a newline, as one bytes object.

    Slicing and joining run in C (``map``/``bytes.join``); for line ranges this is 10× faster than
    gathering the bytes through a NumPy index array.
    """
    if len(starts) == 0:
        return b""
    return b"\n".join(map(raw.__getitem__, map(slice, starts.tolist(), ends.tolist()))) + b"\n"


def parse_table(data: bytes, n_fields: int, usecols, dtype=float) -> np.ndarray:
    """Whitespace-separated lines with exactly ``n_fields`` fields → (n_lines, len(usecols)) array.

    Raises ``ValueError`` (no line number) on anything irregular: a wrong field count, a non-number in a
    used column, a missing value or a NaN. Callers fall back to a line-exact parser to report where.

    The field count is checked by pandas itself: a sentinel row with ``n_fields + 1`` fields is appended and
    columns ``n_fields − 1`` and ``n_fields`` are read too; on every real row the first must hold a value (a
    shorter row leaves it empty, even when its missing fields are not used) and the second must be empty (a
    longer row fills it). Columns come back in the order of ``usecols``.
    """
    if not data:
        return np.empty((0, len(usecols)), dtype=dtype)
    n_lines = data.count(b"\n")
    sentinel = b" ".join([b"0"] * (n_fields + 1)) + b"\n"
    usecols = tuple(usecols)
    cols = sorted(set(usecols) | {n_fields - 1, n_fields})
    try:
        frame = pd.read_csv(io.BytesIO(data + sentinel), sep=r"\s+", header=None, names=list(range(n_fields + 1)),
                            usecols=cols, dtype={c: dtype if c in usecols else object for c in cols}, engine="c",
                            skip_blank_lines=False)  # an unused last field may be a word ("fs"): read as text
    except (pd.errors.ParserError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    if len(frame) != n_lines + 1:
        raise ValueError("row count changed while parsing")
    frame = frame.iloc[:-1]
    if frame[n_fields].notna().any() or frame[n_fields - 1].isna().any():
        raise ValueError(f"expected {n_fields} fields on every line (or a NaN in the last)")
    values = frame[list(usecols)].to_numpy()
    if np.isnan(values).any():  # a missing field or a literal NaN: let the line-exact parser decide
        raise ValueError("missing or NaN value")
    return values


def fortran_float(text: str) -> float:
    """``float(text)``, and NaN for a field of asterisks: Fortran prints those when a number overflows its format
    (a trajectory that blew up); QC then truncates the run before that frame (``not_finite``)."""
    try:
        return float(text)
    except ValueError:
        if text and text.strip("*") == "":
            return float("nan")
        raise


def parse_rows(lines: list[str], first_line: list[int] | np.ndarray, path, n_fields: int | None,
               what: str, usecols=None) -> np.ndarray:
    """Line-by-line parse of numeric rows; the error names the file and line (slow path, for errors).

    Parameters
    ----------
    lines : list of str
    first_line : 1-based line number of each entry of ``lines`` in ``path``
    n_fields : required field count (None: any, but the same for all)
    usecols : columns to convert (default: all)
    """
    out = []
    expected = n_fields
    for text, line_no in zip(lines, first_line):
        fields = text.split()
        if expected is None:
            expected = len(fields)
        if len(fields) != expected:
            raise TrajectoryFormatError(path, int(line_no), f"{what} with {expected} fields (found {len(fields)})")
        cols = fields if usecols is None else [fields[c] for c in usecols]
        try:
            out.append([fortran_float(v) for v in cols])
        except ValueError:
            raise TrajectoryFormatError(path, int(line_no), f"numbers in {what}, got {text.strip()[:60]!r}") from None
    return np.array(out, dtype=float).reshape(len(out), -1)


def without_cut_last_line(raw: bytes, starts: np.ndarray, ends: np.ndarray, line_ids: np.ndarray, n_fields: int) -> np.ndarray:
    """``line_ids`` without the file's last data line when it has fewer than ``n_fields`` fields: a run stopped
    while writing it (a job out of wall time). Readers align their files by time, so the frame it would have
    been falls out as a cut end (:func:`analysis.io.trajectory.cut_at_the_end`), not as an unreadable file."""
    if line_ids.size > 1 and len(raw[starts[line_ids[-1]]:ends[line_ids[-1]]].split()) < n_fields:
        return line_ids[:-1]
    return line_ids


def parse_lines(raw: bytes, starts: np.ndarray, ends: np.ndarray, line_ids: np.ndarray, n_fields: int,
                usecols, path, what: str) -> np.ndarray:
    """Numeric columns of the given lines: bulk C parse, or an error naming the first bad line.

    Parameters
    ----------
    raw, starts, ends : the file and its :func:`line_offsets`
    line_ids : 0-based line indices to parse
    n_fields : required number of whitespace-separated fields per line
    usecols : columns to return
    path, what : for the error message

    Returns
    -------
    ndarray, shape (len(line_ids), len(usecols)). A literal ``nan`` is returned as NaN (QC reports it).
    """
    from analysis.io.tokenize import parse_fields  # here, not at the top: numba costs ~100 MB of RSS in every job that
                                                   # imports this module only to write XYZ (next calculations, report)
    line_ids = np.asarray(line_ids, dtype=np.int64)
    fast = parse_fields(raw, starts[line_ids], ends[line_ids], n_fields, tuple(usecols))  # plain decimals (numba)
    if fast is not None and fast[1] < 0:
        return fast[0]
    try:  # exponents, NaN, irregular lines: pandas' C parser, then the line-exact one for the error
        return parse_table(join_ranges(raw, starts[line_ids], ends[line_ids]), n_fields, tuple(usecols))
    except ValueError:
        lines = [raw[a:b].decode("ascii") for a, b in zip(starts[line_ids], ends[line_ids])]
        return parse_rows(lines, line_ids + 1, path, n_fields, what, usecols=list(usecols))


def blank_lines(raw: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines holding only whitespace."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    solid = np.concatenate(([0], np.cumsum((buf != 32) & (buf != 9) & (buf != 13), dtype=np.int64)))
    return solid[ends] == solid[starts]


def integer_column(values: np.ndarray, path, line_numbers, what: str, minimum: int = 1) -> np.ndarray:
    """``values`` as int64, or an error naming the first line whose value is not an integer >= minimum.

    ``line_numbers`` are the 1-based file lines of the values.
    """
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < minimum)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise TrajectoryFormatError(path, int(np.asarray(line_numbers)[k]), f"{what}: an integer >= {minimum} (got {values[k]})")
    return values.astype(np.int64)



def element_symbols(tokens, path, line_numbers) -> list[str]:
    """Element symbols of the atom tokens read at ``line_numbers`` (1-based) of ``path``
    (:func:`analysis.elements.element_of`: symbols in any case, atomic numbers, labels such as 'C1').

    Raises
    ------
    TrajectoryFormatError
        naming the first line whose token names no element.
    """
    from analysis.elements import element_of

    symbols = [element_of(token) for token in tokens]
    for symbol, token, line in zip(symbols, tokens, line_numbers):
        if symbol is None:
            raise TrajectoryFormatError(path, int(line), f"an element symbol, atomic number or atom label such as 'C1' (found {token.strip()!r})")
    return symbols


def read_xyz_frames(path, allow_partial_last: bool = True, extra_columns: bool = False) -> dict:
    """The frame structure and coordinates of a multi-frame XYZ file (atom count, comment, atom lines).

    Parameters
    ----------
    path : file to read
    allow_partial_last : bool
        Drop an incomplete last frame (a crash mid-write) and report ``truncated``; otherwise it is an error.
    extra_columns : bool
        Atom lines may carry more columns after ``Sym x y z`` (extended XYZ), the same number on every line.

    Returns
    -------
    dict with raw, starts, ends (see :func:`line_offsets`), natom, comment_lines (0-based line index of each
    frame's comment), symbols (of the first frame), coords_angstrom (n_frames, natom, 3), truncated.
    """
    path = Path(path)
    raw = read_bytes(path)
    starts, ends = line_offsets(raw)
    try:
        natom = int(raw[starts[0]:ends[0]].strip())
    except ValueError:
        raise TrajectoryFormatError(path, 1, "the atom count on the first line") from None
    if natom <= 0:
        raise TrajectoryFormatError(path, 1, "a positive atom count")
    per = natom + 2
    n_frames = len(starts) // per
    if n_frames == 0:
        raise TrajectoryFormatError(path, len(starts), f"{per} lines per frame ({natom} atoms)")
    # every frame's atom count first: a frame out of step (a blank line between frames, a frame of other atoms)
    # is named where it starts, not as an incomplete last frame
    frame0 = np.arange(n_frames) * per
    counts = parse_lines(raw, starts, ends, frame0, 1, (0,), path, f"the atom count line of a frame ({per} lines per frame)")[:, 0]
    if np.any(counts != natom):
        bad = int(np.flatnonzero(counts != natom)[0])
        raise TrajectoryFormatError(path, int(frame0[bad]) + 1, f"the atom count {natom} (every frame)")
    leftover = np.arange(n_frames * per, len(starts))
    truncated = bool(leftover.size) and not blank_lines(raw, starts[leftover], ends[leftover]).all()
    if truncated and not allow_partial_last:
        raise TrajectoryFormatError(path, len(starts), f"{per} lines per frame ({natom} atoms); the last frame is incomplete")
    atom_ids = (frame0[:, None] + 2 + np.arange(natom)[None, :]).ravel()
    n_fields = len(raw[starts[2]:ends[2]].split()) if extra_columns else 4
    if n_fields < 4:
        raise TrajectoryFormatError(path, 3, f"an atom line 'Sym x y z' (found {n_fields} fields)")
    coords = parse_lines(raw, starts, ends, atom_ids, n_fields, (1, 2, 3), path, "an atom line 'Sym x y z'")
    symbols = element_symbols([raw[starts[i]:ends[i]].split()[0].decode("ascii") for i in atom_ids[:natom]], path, atom_ids[:natom] + 1)
    return {"raw": raw, "starts": starts, "ends": ends, "natom": natom, "comment_lines": frame0 + 1,
            "symbols": symbols, "coords_angstrom": coords.reshape(n_frames, natom, 3), "truncated": truncated}


_ASCII_WORDS = str.maketrans({"→": "->", "±": "+/-", "σ": "sigma", "Å": "A", "·": ".", "–": "-", "—": "-", "°": " deg",
                               "\n": " ", "\r": " "})


def ascii_comment(text: str) -> str:
    """``text`` as one plain-ASCII line ('S1→S0' → 'S1->S0', '±' → '+/-'; anything else not ASCII → '?'): an XYZ
    comment every reader takes, this project's own included (it refuses non-ASCII bytes)."""
    return str(text).translate(_ASCII_WORDS).encode("ascii", "replace").decode("ascii")


def format_xyz(coords_angstrom: np.ndarray, symbols, comments, decimals: int = 6) -> str:
    """Multi-frame XYZ text (Å) of ``coords_angstrom`` (n_frames, n_atoms, 3) or one frame (n_atoms, 3), one
    comment line per frame (made plain ASCII, :func:`ascii_comment`)."""
    coords_angstrom = np.asarray(coords_angstrom, float).reshape(-1, len(symbols), 3)
    width = decimals + 6
    blocks = []
    for xyz, comment in zip(coords_angstrom, map(ascii_comment, comments)):
        body = "\n".join(f"{s:2s} {x:{width}.{decimals}f} {y:{width}.{decimals}f} {z:{width}.{decimals}f}"
                         for s, (x, y, z) in zip(symbols, xyz))
        blocks.append(f"{len(symbols)}\n{comment}\n{body}\n")
    return "".join(blocks)
