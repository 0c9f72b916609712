"""One motion beside the same motion plus a second one, in five molecules; and lone channels that must stay one
(issue 9: "channels that differ only in a minor motion").

    python bench/minor_motion.py [n_seeds]      # default 5 seeds

Written by ``bench/independent_planted.py``'s generator (its noise model, molecules and file writers; no code of
analysis.demo): pyridine N1 envelope vs N1/C4 boat, thiophene S1-C2 stretch vs the stretch plus a C3 puckering,
acrolein C1=C2 twist vs the twist plus a C3=O4 stretch, naphthalene C1 vs C1 + C4 puckering, benzene envelope vs
boat; then one channel alone in four molecules (uniform ±43 % amplitudes, noisy, wide hop-time spread). Clustered with
the config's cluster block, k never given. Each seed prints ``ARI/k uN``: the adjusted Rand index over the resolved
events (a lone channel: 1 when it is one channel), the channels found and the events left unresolved.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench.independent_planted as B  # noqa: E402
from bench.planted_family import recover_ensemble  # noqa: E402

P = B.PlantedChannel


def cases() -> dict[str, tuple[B.Ensemble, int]]:
    """name -> (ensemble, number of planted channels)."""
    out = {}
    sy, xyz = B.pyridine()
    ring = list(range(6))
    out["pyridine N1 envelope vs N1/C4 boat"] = (B.Ensemble(sy, xyz, [
        P("N1 puckering", .5, B.pucker(xyz, ring, (0,), .5), 50),
        P("N1/C4 boat", .5, B.pucker(xyz, ring, (0, 3, 8), .45), 60)], n_traj=40, fmt="sharc"), 2)
    sy, xyz = B.thiophene()
    opening = B.stretch(xyz, 0, 1, (1, 5), .7)
    out["thiophene S1-C2 stretch vs + C3 puckering"] = (B.Ensemble(sy, xyz, [
        P("S1-C2 stretch", .6, opening, 60),
        P("S1-C2 stretch + C3 puckering", .4, opening + B.pucker(xyz, [0, 1, 2, 3, 4], (2, 6), .5), 60)],
        n_traj=40, fmt="sharc"), 2)
    sy, xyz = B.acrolein()
    twist = B.twist(xyz, 1, 0, (4, 5), 80.0)
    out["acrolein twist vs twist + C=O stretch"] = (B.Ensemble(sy, xyz, [
        P("C1=C2 twist", .5, twist, 50),
        P("twist + C3=O4 stretch", .5, twist + B.stretch(xyz, 2, 3, (3,), .35), 55)], n_traj=40, fmt="pyrai2md"), 2)
    sy, xyz = B.naphthalene()
    ring = [8, 0, 1, 2, 3, 9]
    out["naphthalene C1 vs C1 + C4 puckering"] = (B.Ensemble(sy, xyz, [
        P("C1 puckering", .5, B.pucker(xyz, ring, (0, 10), .5), 50),
        P("C1/C4 puckering", .5, B.pucker(xyz, ring, (0, 10, 3, 13), .45), 55)], n_traj=40, fmt="newtonx"), 2)
    sy, xyz = B.benzene()
    ring = list(range(6))
    out["benzene envelope vs boat, 60 runs"] = (B.Ensemble(sy, xyz, [
        P("C1 puckering", .5, B.pucker(xyz, ring, (0, 6), .5), 50),
        P("C1/C4 boat", .5, B.pucker(xyz, ring, (0, 6, 3, 9), .4), 55)], n_traj=60, sigma_angstrom=0.06,
        fmt="newtonx"), 2)
    sy, xyz = B.pyridine()
    out["one channel: pyridine N1, uniform amplitudes"] = (B.Ensemble(sy, xyz, [
        P("N1 puckering", 1.0, B.pucker(xyz, list(range(6)), (0,), .5), 50)], n_traj=40, sigma_angstrom=0.06,
        fmt="sharc", amp_sd=.25, amp_uniform=True), 1)
    sy, xyz = B.acrolein()
    out["one channel: acrolein twist, noisy"] = (B.Ensemble(sy, xyz, [
        P("C1=C2 twist", 1.0, B.twist(xyz, 1, 0, (4, 5), 80.0), 50, 25.0)], n_traj=50, sigma_angstrom=0.08,
        fmt="pyrai2md"), 1)
    sy, xyz = B.naphthalene()
    out["one channel: naphthalene C1, 60 runs"] = (B.Ensemble(sy, xyz, [
        P("C1 puckering", 1.0, B.pucker(xyz, [8, 0, 1, 2, 3, 9], (0, 10), .5), 50)], n_traj=60, fmt="newtonx"), 1)
    sy, xyz = B.thiophene()
    out["one channel: thiophene stretch, 30 runs"] = (B.Ensemble(sy, xyz, [
        P("S1-C2 stretch", 1.0, B.stretch(xyz, 0, 1, (1, 5), .7), 60, 20.0)], n_traj=30, sigma_angstrom=0.07,
        fmt="sharc"), 1)
    return out


def main(n_seeds: int = 5) -> None:
    cluster = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["cluster"]
    found = pairs = split = single = 0
    for name, (ens, k_true) in cases().items():
        row = []
        for seed in range(1, n_seeds + 1):
            ens.seed = seed
            with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
                truth = B.generate(ens, Path(tmp) / "planted" / "ensemble")
                recover_ensemble(Path(tmp) / "planted" / "ensemble", truth, Path(tmp), cluster=cluster)
                a = pd.read_csv(Path(tmp) / "a.csv").merge(truth, on="trajectory_id", suffixes=("", "_true"))
            resolved = a[a["channel"] != "unresolved"]
            k = resolved["channel"].nunique()
            if k_true > 1:
                ari = adjusted_rand_score(resolved["channel_true"], resolved["channel"])
                found, pairs = found + (ari >= 0.9 and k == k_true), pairs + 1
            else:
                ari = float(k == 1)
                split, single = split + (k > 1), single + 1
            row.append(f"{ari:.2f}/{k}u{len(a) - len(resolved)}")
        print(f"{name:46s} " + " ".join(row), flush=True)
    print(f"pairs found (both channels, ARI >= 0.9 over resolved events): {found}/{pairs}; lone channel split: {split}/{single}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
