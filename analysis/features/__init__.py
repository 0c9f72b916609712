"""Geometric features: internal coordinates, Cremer–Pople puckering and conformer labels, out-of-plane and
pyramidalization angles."""

from analysis.features.conformers import conformer_labels
from analysis.features.geometry import cremer_pople, dihedrals, out_of_plane, pyramidalization, ring_normal
from analysis.features.internal import DEFAULT_FAMILIES, FAMILIES, featurize

__all__ = ["DEFAULT_FAMILIES", "FAMILIES", "conformer_labels", "cremer_pople", "dihedrals", "featurize", "out_of_plane",
           "pyramidalization", "ring_normal"]
