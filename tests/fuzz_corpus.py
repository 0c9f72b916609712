"""A generated corpus of broken trajectory files, made from real (or demo) files by seeded corruptions."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

CORRUPTIONS = ("truncate", "garbage_line", "nan", "atom_count", "empty", "binary", "drop_line", "duplicate_block")


def corrupt(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One corrupted variant of a text file's bytes."""
    lines = data.splitlines(keepends=True)
    if kind == "truncate":
        return data[: int(rng.integers(1, max(len(data), 2)))]
    if kind == "empty":
        return b""
    if kind == "binary":
        pos = int(rng.integers(0, len(data)))
        return data[:pos] + bytes(rng.integers(0, 256, 16, dtype=np.uint8)) + data[pos:]
    if not lines:
        return data
    i = int(rng.integers(0, len(lines)))
    if kind == "garbage_line":
        junk = "".join(rng.choice(list("abcXYZ019 .-=:%#!"), size=int(rng.integers(1, 40))))
        return b"".join(lines[:i] + [junk.encode() + b"\n"] + lines[i:])
    if kind == "nan":
        numeric = [k for k, ln in enumerate(lines) if any(c.isdigit() for c in ln.decode("ascii", "replace"))]
        k = int(rng.choice(numeric)) if numeric else i
        fields = lines[k].split(b" ")
        nums = [j for j, f in enumerate(fields) if f.strip() and f.strip()[:1] in b"-0123456789"]
        if nums:
            fields[int(rng.choice(nums))] = b"NaN"
        return b"".join(lines[:k] + [b" ".join(fields)] + lines[k + 1:])
    if kind == "atom_count":
        counts = [k for k, ln in enumerate(lines) if ln.strip().isdigit()]
        k = int(rng.choice(counts)) if counts else i
        return b"".join(lines[:k] + [b"   %d\n" % (int(lines[k].strip() or b"0") + 1 if lines[k].strip().isdigit() else 99)] + lines[k + 1:])
    if kind == "drop_line":
        return b"".join(lines[:i] + lines[i + 1:])
    if kind == "duplicate_block":
        j = min(len(lines), i + int(rng.integers(1, 30)))
        return b"".join(lines[:j] + lines[i:j] + lines[j:])
    raise ValueError(kind)


def make_variant(source: Path, target: Path, file_name: str, kind: str, seed: int) -> Path:
    """Copy trajectory folder ``source`` to ``target`` with ``file_name`` corrupted."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    path = target / file_name
    path.write_bytes(corrupt(path.read_bytes(), kind, np.random.default_rng(seed)))
    return target
