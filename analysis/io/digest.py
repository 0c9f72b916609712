"""The digest of a manifest (the files a run read), apart from the readers that :mod:`analysis.io.discover` imports:
the report names its inputs by it without importing the readers and their compiled parser (numba: 0.2 s of the
report job's start)."""

from __future__ import annotations

import hashlib

import pandas as pd


def manifest_digest(table: pd.DataFrame) -> str:
    """Short digest of a manifest: changes when a trajectory or one of its files is added, removed or modified."""
    return hashlib.blake2b(table.to_csv(index=False).encode(), digest_size=12).hexdigest()
