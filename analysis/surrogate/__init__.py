"""MLP surrogate of state energies trained on the ensemble's own frames."""
