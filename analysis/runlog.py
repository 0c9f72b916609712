"""Logging for workflow scripts: everything (logging and stderr) goes to the rule's log file."""

from __future__ import annotations

import logging
import sys


def setup(log_path: str) -> None:
    """Send logging records and stderr of this process to ``log_path``."""
    handle = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    # MDAnalysis warns on import that netCDF4 is missing, which only slows writing AMBER ncdf files (never done
    # here): a WARNING in every topology and report log that the user can do nothing about
    logging.getLogger("MDAnalysis.coordinates.AMBER").setLevel(logging.ERROR)
    # and says "attribute masses has been guessed successfully" twice for every XYZ trajectory it reads (INFO)
    logging.getLogger("MDAnalysis.core.universe").setLevel(logging.WARNING)
