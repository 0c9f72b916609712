"""Channel recovery on small runs (5-40 events), independently planted (issue 9).

    python bench/small_runs.py [n_seeds]      # default 6 seeds

Pyridine and thiophene ensembles written as SHARC by ``bench/independent_planted.py``'s generator: two or three
channels of 3-12 events each, and one channel alone (which must never be split). Each line prints, per seed, the
adjusted Rand index and the number of channels found (ARI/k), or for one channel only k. Clustered with the
config's cluster block, as the pipeline does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench.independent_planted as B  # noqa: E402
from bench.planted_family import recover_ensemble  # noqa: E402


def cases():
    """(name, symbols, geometry, channels, run sizes) of every configuration."""
    sy, xyz = B.pyridine()
    ring = [0, 1, 2, 3, 4, 5]
    n1 = B.PlantedChannel("N1 puckering [+]", 0.5, B.pucker(xyz, ring, (0,), 0.5), 45)
    c4 = B.PlantedChannel("C4 puckering [-]", 0.5, B.pucker(xyz, ring, (3, 8), -0.5), 60)
    h8 = B.PlantedChannel("H8 out-of-plane", 0.34, B.pucker(xyz, ring, (7,), 0.7), 35)
    ts, txyz = B.thiophene()
    opening = B.PlantedChannel("S1-C2 opening", 0.7, B.stretch(txyz, 0, 1, (1, 5), 0.8), 70)
    c3 = B.PlantedChannel("C3 puckering [+]", 0.3, B.pucker(txyz, [0, 1, 2, 3, 4], (2, 6), 0.55), 50)
    return [("pyridine 2 channels 50/50", sy, xyz, [n1, c4], (6, 8, 10, 12, 16, 20)),
            ("pyridine 3 channels", sy, xyz, [dataclasses.replace(n1, share=0.33), dataclasses.replace(c4, share=0.33), h8],
             (9, 12, 15, 18, 21)),
            ("thiophene 2 channels 70/30", ts, txyz, [opening, c3], (10, 14, 17, 20, 24)),
            ("pyridine 1 channel", sy, xyz, [dataclasses.replace(c4, share=1.0)], (5, 8, 12, 16, 20, 24, 30, 40))]


def main(n_seeds: int = 6) -> None:
    cluster = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["cluster"]
    recovered = total = split = single = 0
    for name, symbols, xyz, channels, sizes in cases():
        for n in sizes:
            row = []
            for seed in range(1, n_seeds + 1):
                ens = B.Ensemble(symbols, xyz, channels, n_traj=n, sigma_angstrom=0.05, fmt="sharc", seed=seed)
                with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
                    truth = B.generate(ens, Path(tmp) / "planted" / "ensemble")
                    r = recover_ensemble(Path(tmp) / "planted" / "ensemble", truth, Path(tmp), scaling="thermal", cluster=cluster)
                    k = len(set(pd.read_csv(Path(tmp) / "a.csv")["channel"]) - {"unresolved"})
                if len(channels) > 1:
                    row.append(f"{r.ari:.2f}/{k}")
                    recovered, total = recovered + (r.ari > 0.999), total + 1
                else:
                    row.append(str(k))
                    split, single = split + (k > 1), single + 1
            print(f"{name:28s} {n:3d} events: " + " ".join(row), flush=True)
    print(f"several channels recovered (ARI 1): {recovered}/{total}; one channel split: {split}/{single}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
