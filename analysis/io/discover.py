"""The reader registry, trajectory discovery and the input manifest.

One registry (:data:`FORMATS`) says for every format its reader, how a complete folder is recognised, which
files the reader reads, and which files betray the format even when others are missing (so the reader
runs and names what is missing, instead of the folder being "not recognised"). ``format: auto``, the
manifest and the error messages are all derived from it. Every file may be stored compressed (``.gz``,
``.bz2``, ``.xz``; see :mod:`analysis.io.paths`).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from fnmatch import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from analysis.io import newtonx, nexmd, pyrai2md, sharc, xyz
from analysis.io.paths import glob_text, natural_key, resolve, stored_text_files


@dataclass(frozen=True)
class ReaderSpec:
    """A trajectory format: its reader and the files that identify it.

    Attributes
    ----------
    name : str                 config name (``input.format``)
    read : callable            ``read(folder, trajectory_id=None) -> Trajectory``
    detect : callable          True if the folder holds a complete trajectory of this format
    files : tuple of str       globs (relative to the folder) of every file the reader may read
    signature : tuple of str   globs whose presence alone says "this folder is meant to be this format"
    description : str          the files, in words (README and error messages)
    """

    name: str
    read: Callable
    detect: Callable
    files: tuple
    signature: tuple
    description: str


_NX_FILES = ("dyn.out", "dyn.xyz", "en.dat", "typeofdyn.log", "sh.out")
# Order matters for format: auto — specific layouts first, plain XYZ (one *.xyz file) last.
FORMATS = (
    ReaderSpec("newtonx", newtonx.read_newtonx, newtonx.is_newtonx,
               tuple(f"RESULTS/{f}" for f in _NX_FILES) + _NX_FILES,
               ("RESULTS/en.dat", "RESULTS/dyn.out", "RESULTS/dyn.xyz", "en.dat", "dyn.out"),
               "`RESULTS/dyn.out` (or `dyn.xyz`), `en.dat` (optional beside `dyn.out`), `typeofdyn.log`"),
    ReaderSpec("sharc", sharc.read_sharc, sharc.is_sharc,
               ("output.lis", "output.xyz", "output.dat", "input", "DONT_ANALYZE"), ("output.lis",),  # output.dat: too common a name
               "`output.lis` + `output.xyz` and/or `output.dat` (or `output.dat` alone), `input` (for nstates/ezero)"),
    ReaderSpec("pyrai2md", pyrai2md.read_pyrai2md, pyrai2md.is_pyrai2md,
               ("*.md.energies", "*.md.xyz", "*.sh.energies"), ("*.md.energies", "*.md.xyz", "*.sh.energies"),
               "`<title>.md.energies`, `<title>.md.xyz`, `<title>.sh.energies`"),
    ReaderSpec("nexmd", nexmd.read_nexmd, nexmd.is_nexmd,
               ("coords.xyz", "pes.out", "coeff-n.out", "energy-ev.out", "hops.out"), ("pes.out", "coeff-n.out", "hops.out"),
               "`coords.xyz`, `pes.out`, `coeff-n.out`, `energy-ev.out`, `hops.out`"),
    ReaderSpec("xyz", xyz.read_xyz, xyz.is_xyz, ("*.xyz", "*.csv"), ("*.xyz",),
               "one multi-frame `*.xyz` (Å) + optional `*.csv` (`time_fs`, `active_state`, `e1_ev`…, `etot_ev`)"),
)
REGISTRY = {spec.name: spec for spec in FORMATS}
READERS = {spec.name: spec.read for spec in FORMATS}


class Found(NamedTuple):
    """A trajectory folder and the format it will be read as (``unknown``: no reader claims it)."""

    trajectory_id: str
    folder: Path
    format: str

    def files(self) -> list[Path]:
        """The files the reader reads that exist (all regular top-level files for ``unknown``; the XYZ file and
        its ``<stem>.csv`` for a loose XYZ file)."""
        if self.format.startswith(DUPLICATE_OF) or (self.folder.is_symlink() and not self.folder.exists()):
            return []  # read as the folder it duplicates; a dangling link has none
        if xyz.is_xyz_file(self.folder):
            return [p for p in (resolve(self.folder), resolve(xyz.properties_csv(self.folder))) if p is not None]
        if self.format == "unknown":
            return sorted(p for p in self.folder.iterdir() if p.is_file())
        return sorted(set(stored_text_files(self.folder, REGISTRY[self.format].files).values()))


def detect_format(folder: str | Path) -> str | None:
    """Name of the first program format whose complete file set is in ``folder``; else plain XYZ when its one
    ``*.xyz`` is not a program's own file; else the first program whose signature files are there (the reader
    will then name what is missing); else plain XYZ if an ``*.xyz`` is there; else None.

    A program's own XYZ (NEXMD's ``coords.xyz``, SHARC's ``output.xyz``, PyRAI2MD's ``<title>.md.xyz``, Newton-X's
    ``dyn.xyz``) beside another of its files is that program's run with a file missing: read as a bare XYZ file it
    would put every frame on state 1 without a word. A user's own XYZ keeps its folder plain XYZ whatever else
    lies there."""
    folder = Path(folder)
    programs = [spec for spec in FORMATS if spec.name != "xyz"]
    for spec in programs:
        if spec.detect(folder):
            return spec.name
    plain = REGISTRY["xyz"]
    if plain.detect(folder) and not _program_file(glob_text(folder, "*.xyz")[0].name):
        return plain.name
    for spec in programs:
        if any(glob_text(folder, g) for g in spec.signature):
            return spec.name
    if plain.detect(folder) or any(glob_text(folder, g) for g in plain.signature):
        return plain.name
    return None


def _program_file(name: str) -> bool:
    """Whether a file name is one a program's reader reads (its ``files`` globs, folder part dropped)."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(name, g.rsplit("/", 1)[-1]) for spec in FORMATS if spec.name != "xyz" for g in spec.files)


# how deep :func:`discover` looks for trajectory folders: root/TRAJ1, root/run1/TRAJ1, root/run1/TRAJECTORIES/TRAJ1
MAX_DEPTH = 3


# folders inside a trajectory that are never searched for trajectories (a crashed Newton-X run without RESULTS
# still has JOB_AD, whose QM inputs may include an *.xyz: it stays one unknown folder, not a trajectory 'JOB_AD')
TRAJECTORY_PARTS = frozenset({"results", "job_ad", "job_nad", "info_restart", "qm", "restart", "temp", "debug", "scratch"})


def _claimed(folder: Path, fmt: str) -> str | None:
    """The format ``folder`` is a trajectory of (``fmt`` or, for 'auto', :func:`detect_format`), or None."""
    if fmt == "auto":
        return detect_format(folder)
    spec = REGISTRY[fmt]
    return fmt if spec.detect(folder) or any(glob_text(folder, g) for g in spec.signature) else None


def _trajectory_folders(folder: Path, fmt: str, depth: int) -> list[tuple[Path, str]]:
    """[(folder, format)]: ``folder`` if a reader claims it, else the claimed folders below it (``depth`` levels)."""
    got = _claimed(folder, fmt)
    if got:
        return [(folder, got)]
    if depth <= 0:
        return []
    try:
        subs = sorted((p for p in folder.iterdir() if p.is_dir() and p.name.lower() not in TRAJECTORY_PARTS),
                      key=lambda p: natural_key(p.name))
    except OSError:  # unreadable: reported as an unknown folder by the caller
        return []
    return [pair for sub in subs for pair in _trajectory_folders(sub, fmt, depth - 1)]


def loose_xyz_files(root: Path, pattern: str = "*") -> list[Path]:
    """Multi-frame XYZ files directly in ``root`` (plain names, stored plain or compressed) whose name or stem
    matches ``pattern``: an ensemble kept as one file per trajectory."""
    return [p for p in glob_text(root, "*.xyz") if fnmatch(p.name, pattern) or fnmatch(p.stem, pattern)]


def _root_as_trajectory(root: Path, fmt: str) -> str | None:
    """The format of ``root`` when it is itself one complete trajectory (a Newton-X TRAJ folder, a SHARC
    trajectory …) given as input.root, else None. Plain XYZ is not enough here: an ensemble folder may hold a stray
    ``*.xyz`` beside its trajectory folders."""
    specs = FORMATS if fmt == "auto" else (REGISTRY[fmt],)
    return next((spec.name for spec in specs if spec.name != "xyz" and spec.detect(root)), None)


def trajectory_ids(root: Path, folders: list[Path]) -> list[str]:
    """Each folder's name, or, where two nested folders share a name (run1/TRAJ1, run2/TRAJ1), every folder's
    path below ``root`` joined by '_' ('run1_TRAJ1')."""
    names = [f.name for f in folders]
    if len(set(names)) == len(names):
        return names
    return ["_".join(f.relative_to(root).parts) if f != root else f.name for f in folders]


def discover(root: str | Path, pattern: str = "*", fmt: str = "auto") -> list[Found]:
    """Trajectory folders under ``root`` matching ``pattern``, in natural order of their ids.

    Each folder directly under ``root`` that a reader claims is a trajectory (where none is, but ``root`` holds
    multi-frame ``*.xyz`` files, each file is one, id = its stem, with an optional ``<stem>.csv``); one no reader claims is searched
    for trajectory folders down to :data:`MAX_DEPTH` levels (runs kept as ``run1/TRAJ1 …``, ``run2/TRAJ1 …``;
    ids as :func:`trajectory_ids`), and reported as ``unknown`` when none is inside, so the ensemble reports it
    instead of dropping it silently. ``root`` that is itself one complete trajectory is an ensemble of one.
    With ``fmt='auto'`` each folder gets :func:`detect_format`; a named format is used for every folder, so its
    reader's own error names whatever is missing.
    """
    root = Path(root)
    if fmt != "auto" and fmt not in REGISTRY:
        raise ValueError(f"input.format: unknown format {fmt!r}; known: auto, {', '.join(REGISTRY)}")
    if fmt in ("auto", "xyz") and xyz.is_xyz_file(root):  # one multi-frame XYZ file: an ensemble of one
        return [Found(root.stem, root, "xyz")]
    if not root.is_dir():
        raise FileNotFoundError(f"input.root: {root} is neither a directory nor a multi-frame .xyz file")
    single = _root_as_trajectory(root, fmt)
    if single:  # its own subfolders (RESULTS, JOB_AD, QM …) are parts of it, not trajectories
        return [Found(root.name, root, single)]
    # a dangling link (its run's scratch purged) is listed, so the ensemble reports it instead of dropping it
    top = sorted((p for p in root.glob(pattern) if p.is_dir() or (p.is_symlink() and not p.exists())),
                 key=lambda p: natural_key(p.name))
    pairs: list[tuple[Path, str]] = []
    for folder in top:
        pairs += _trajectory_folders(folder, fmt, MAX_DEPTH - 1) or [(folder, "unknown" if fmt == "auto" else fmt)]
    if all(f == "unknown" for _, f in pairs) and fmt in ("auto", "xyz") and (files := loose_xyz_files(root, pattern)):
        # no trajectory folder, but XYZ files: one trajectory per file (folders beside them are not trajectories)
        return _mark_duplicates(sorted((Found(p.stem, p, "xyz") for p in files), key=lambda f: natural_key(f.trajectory_id)))
    ids = trajectory_ids(root, [p for p, _ in pairs])
    found = [Found(tid, p, f) for tid, (p, f) in zip(ids, pairs)]
    return _mark_duplicates(sorted(found, key=lambda f: natural_key(f.trajectory_id)))


DUPLICATE_OF = "duplicate_of:"  # format of a found trajectory that is another one's folder or file again (a link)


def _mark_duplicates(found: list[Found]) -> list[Found]:
    """``found`` with every entry whose folder or file resolves to an earlier one's (a symbolic link to it, a run
    listed under two names) marked ``duplicate_of:<first id>``: it is reported and excluded, not counted twice."""
    first: dict[str, str] = {}
    out = []
    for f in found:
        real = os.path.realpath(f.folder)
        if f.format != "unknown" and real in first:
            out.append(f._replace(format=f"{DUPLICATE_OF}{first[real]}"))
            continue
        first.setdefault(real, f.trajectory_id)
        out.append(f)
    return out


def auto_batches(n_trajectories: int, batch_trajectories: int = 500, minimum: int = 2) -> int:
    """Number of batches for ``n_batches: auto``: at least ``minimum`` (parallel jobs on a 2-core machine), and
    enough that a batch holds about ``batch_trajectories`` (a job's memory then does not grow with the ensemble).
    The minimum was 4: a 5-run pyrazine set then paid 8 job starts for ingest and features, ~3 s of its ~22 s end to
    end on 2 cores. Batches of 250 cost 2,000 trajectories × 1,000 steps 38.7 s of ingest jobs (8) against 29.2–29.6
    s in 4 of 500 (68–72 s end to end against 60–61 s; 2 of 1,000: 65–67 s, the features' batches then run one per
    core for 5 s each). Results do not depend on the batching."""
    return max(minimum, -(-int(n_trajectories) // int(batch_trajectories)))


def batch_of(trajectory_id: str, n_batches: int) -> int:
    """Batch (0-based) of a trajectory: a stable hash of its id, so adding or removing a trajectory changes
    only its own batch."""
    return zlib.crc32(trajectory_id.encode()) % int(n_batches)


MANIFEST_COLUMNS = ["trajectory_id", "folder", "format", "file", "size_bytes", "mtime_ns"]


def manifest(found: list[Found], content_hash: bool = False) -> pd.DataFrame:
    """One row per (trajectory, file the reader reads): size and modification time (ns), optionally a
    BLAKE2 digest of the content in ``sha`` (slow on large ensembles; see bench)."""
    rows, paths = [], []
    for f in found:
        files = f.files()
        base = f.folder.parent if xyz.is_xyz_file(f.folder) else f.folder  # a loose XYZ file: its folder
        if not files:
            rows.append((f.trajectory_id, str(f.folder), f.format, "", 0, 0))
            paths.append(None)
        for p in files:
            st = p.stat()
            rows.append((f.trajectory_id, str(f.folder), f.format, str(p.relative_to(base)), st.st_size, st.st_mtime_ns))
            paths.append(p)
    out = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    if content_hash:
        out["sha"] = [hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest() if p is not None else "" for p in paths]
    return out


def batch_manifest(root, pattern: str = "*", fmt: str = "auto", n_batches: int = 1, batch: int = 0) -> pd.DataFrame:
    """The manifest rows of batch ``batch`` (see :func:`batch_of`)."""
    found = [f for f in discover(root, pattern, fmt) if batch_of(f.trajectory_id, n_batches) == batch]
    return manifest(found)


def found_from_manifest(table: pd.DataFrame) -> list[Found]:
    """The trajectories listed in a manifest, in natural order."""
    first = table.drop_duplicates("trajectory_id")
    found = [Found(r.trajectory_id, Path(r.folder), r.format) for r in first.itertuples()]
    return sorted(found, key=lambda f: natural_key(f.trajectory_id))


def write_manifest(table: pd.DataFrame, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)


def read_manifest(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"trajectory_id": str, "folder": str, "format": str, "file": str},
                       keep_default_na=False)
