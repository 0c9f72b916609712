"""Trajectory readers, discovery and the batch store."""

from analysis.io.errors import TrajectoryFormatError
from analysis.io.trajectory import Trajectory

__all__ = ["Trajectory", "TrajectoryFormatError"]
