"""The one exception every parser raises on malformed input."""

from __future__ import annotations

from pathlib import Path

from analysis.io.paths import resolve


class TrajectoryFormatError(ValueError):
    """A trajectory file does not look like the format it claims to be.

    Parameters
    ----------
    path : str or Path
        The offending file.
    line : int or None
        1-based line number where the problem was found (None if it concerns the whole file).
    expected : str
        What the parser expected to find there.
    message : str, optional
        The whole message, when "<file>:<line>: expected …" does not say it best (``traj3.md.xyz: missing``).

    A file that exists only compressed (``dyn.out.gz`` for ``dyn.out``) is named as stored, its line being a line
    of the decompressed text.
    """

    def __init__(self, path: str | Path, line: int | None, expected: str, message: str | None = None):
        stored = resolve(path) if path and not Path(path).exists() else None  # only the compressed twin exists
        twin = stored is not None
        self.path = str(stored) if twin else str(path)
        self.line = line
        self.expected = expected
        where = f"{self.path}:{line}" if line is not None else self.path
        if twin and line is not None:
            where += " (decompressed)"
        super().__init__(message or f"{where}: expected {expected}")
