"""Geometric features: internal coordinates, Cremer–Pople puckering, out-of-plane angles."""

from analysis.features.geometry import cremer_pople, dihedrals, ring_normal
from analysis.features.internal import featurize

__all__ = ["cremer_pople", "dihedrals", "featurize", "ring_normal"]
