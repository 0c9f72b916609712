"""Where an input file is stored: plain, or compressed as finished runs are archived (``dyn.out.gz``,
``output.dat.bz2``, ``coords.xyz.xz``). The readers ask for the plain name; these helpers find the file as it
is stored. No analysis imports: the error type uses them to name the file as stored."""

from __future__ import annotations

from pathlib import Path

COMPRESSED = (".gz", ".bz2", ".xz")  # suffixes of compressed inputs, in the order they are looked for


def resolve(path: str | Path) -> Path | None:
    """The file ``path`` as stored: itself, else ``path`` + ``.gz``/``.bz2``/``.xz`` (first found); None if none
    of them is a file."""
    path = Path(path)
    for candidate in (path, *(path.with_name(path.name + s) for s in COMPRESSED)):
        if candidate.is_file():
            return candidate
    return None


def is_text_file(path: str | Path) -> bool:
    """Whether ``path`` exists as a file, plain or compressed (see :func:`resolve`)."""
    return resolve(path) is not None


def glob_text(folder: str | Path, pattern: str) -> list[Path]:
    """Files in ``folder`` matching ``pattern`` plain or compressed, by their plain names (a plain file wins over
    its compressed twin), sorted."""
    folder = Path(folder)
    found = {p for p in folder.glob(pattern) if p.is_file()}
    for suffix in COMPRESSED:
        found |= {p.with_name(p.name[: -len(suffix)]) for p in folder.glob(pattern + suffix) if p.is_file()}
    return sorted(found)
