"""What the regressors learn: the ground state and the ladder of adjacent gaps, not each state on its own.

Nuclear motion moves all states together (a bond stretch raises S0 and S1 alike), so the gaps
E_k − E_(k−1) are smoother functions of geometry than the energies, and the S1–S0 gap — what decides
hopping — is predicted directly rather than as the difference of two larger, independent errors.
"""

from __future__ import annotations

import numpy as np


def to_ladder(energies_ev: np.ndarray) -> np.ndarray:
    """(n, n_states) energies → [E0, E1 − E0, E2 − E1, ...]."""
    e = np.asarray(energies_ev, float)
    return np.column_stack([e[:, :1], np.diff(e, axis=1)])


def energies_of_ladder(ladder: np.ndarray) -> np.ndarray:
    """[E0, E1 − E0, ...] → (n, n_states) energies (the inverse of :func:`to_ladder`)."""
    return np.cumsum(ladder, axis=1)


def with_gap(energies_ev: np.ndarray) -> np.ndarray:
    """Energies with the first gap (state 1 − state 0) appended as a last column (when there are ≥ 2 states)."""
    e = np.asarray(energies_ev, float)
    return np.column_stack([e, e[:, 1] - e[:, 0]]) if e.shape[1] > 1 else e


def from_ladder(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ladder predictions → energies with the first gap appended (see :func:`with_gap`), mean and spread.

    The spread of E_k adds the ladder rungs' spreads in quadrature; the gap's is its rung's own.
    """
    energies = energies_of_ladder(mean)
    spread = np.sqrt(np.cumsum(np.asarray(std) ** 2, axis=1))
    if mean.shape[1] > 1:
        return np.column_stack([energies, mean[:, 1]]), np.column_stack([spread, std[:, 1]])
    return energies, spread
