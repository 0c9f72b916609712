"""Where an input file is stored: plain, or compressed as finished runs are archived (``dyn.out.gz``,
``output.dat.bz2``, ``coords.xyz.xz``). The readers ask for the plain name; these helpers find the file as it
is stored. No analysis imports: the error type uses them to name the file as stored."""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
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
    return sorted(stored_text_files(folder, [pattern]))


def stored_text_files(folder: str | Path, patterns) -> dict[Path, Path]:
    """{plain name: file as stored} of the files in ``folder`` matching any of ``patterns`` plain or compressed
    (the union of :func:`glob_text` over them, each with its :func:`resolve`d file).

    One directory listing per folder the patterns name ('RESULTS/dyn.out' lists RESULTS), not one glob and a
    few stat calls per pattern and suffix: discovering 2,000 Newton-X trajectories took 1.9 s that way. A pattern's
    folder part is a literal path; its name part may hold wildcards."""
    folder = Path(folder)
    by_dir: dict[str, list[str]] = {}
    out: dict[Path, Path] = {}
    for pattern in patterns:
        head, _, name = pattern.rpartition("/")
        by_dir.setdefault(head, []).append(name)
    for head, names in by_dir.items():
        directory = folder / head if head else folder
        files = _file_names(directory)
        plain_names = {f for f in files if any(fnmatchcase(f, n) for n in names)}
        plain_names |= {f[: -len(s)] for f in files for s in COMPRESSED
                        if f.endswith(s) and any(fnmatchcase(f[: -len(s)], n) for n in names)}
        for plain in plain_names:  # stored as resolve() finds it: plain first, then each suffix in order
            stored = next(c for c in (plain, *(plain + s for s in COMPRESSED)) if c in files)
            out[directory / plain] = directory / stored
    return out


def _file_names(directory: Path) -> set[str]:
    """Names of the regular files (symlinks followed) in ``directory``; empty when it is not a readable folder."""
    try:
        with os.scandir(directory) as entries:
            return {e.name for e in entries if e.is_file()}
    except OSError:
        return set()



def natural_key(name: str):
    """'TRAJ10' sorts after 'TRAJ2'."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def natural_rank(ids):
    """Integer rank of each trajectory id of a pandas Series in natural order (a sort key for tables)."""
    order = {tid: k for k, tid in enumerate(sorted(set(ids), key=natural_key))}
    return ids.map(order)
