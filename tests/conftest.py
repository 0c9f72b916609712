"""Shared fixtures. Real-data tests skip cleanly when ../shared/data is absent (a fresh user clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared(*parts) -> Path:
    """Path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (../shared/data is only beside the project in CI and dev machines)")
    return path


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """A 24-trajectory demo ensemble (2 broken) and its truth table."""
    from analysis.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    truth = generate_demo(out, n_trajectories=24, seed=7, t_max_fs=200.0, dt_fs=0.5, broken_fraction=0.1)
    return out, truth
