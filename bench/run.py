"""hopscope benchmarks: one command (`make bench`), prints a table. Targets live here, not in unit tests.

* reader: Newton-X dyn.out frames/s over a generated ensemble (demo cytosine, 13 atoms, 10 x 2001 steps), in the
  classic layout (2.0 kB/step) and in the NX-CS 2.6 layout (+ acceleration block and momentum lines, 2.8 kB/step,
  the size issue 3's target is stated for); the whole trajectory reader (dyn.out + en.dat + typeofdyn.log);
  MDAnalysis' XYZ reader on the same geometry
* manifest: discovering 1,000 trajectory folders (hard links of one demo trajectory, 4 files each) and the
  manifest digest Snakemake compares on every invocation (size + mtime, the chosen one) vs a content hash
* features: default feature families, frames/s on 200k frames of a 16-atom molecule (5-methylcytosine,
  built from the demo cytosine by replacing H on C5 with a methyl group)
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import demo  # noqa: E402
from analysis.features import featurize  # noqa: E402
from analysis.io.newtonx import read_dyn_out, read_newtonx  # noqa: E402
from analysis.topology import perceive_topology  # noqa: E402


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


_VELOCITY = re.compile(r"(  (New|Initial) velocity: \n((?:[^\n]*\d[^\n]*\n)+))")
_MOMENTUM = ("Total linear momentum:      0.00409970   -0.00040221    0.00629659\n"
             "Total ang mom about cm:    -2.02654533    2.26438569   -3.77147499\n"
             "Total ang mom of cm:        0.01495858    0.00542319   -0.00939310\n \n")


def nx_cs_layout(text: str) -> str:
    """A classic dyn.out rewritten with NX-CS 2.6's extra lines (acceleration block, momentum lines)."""
    text = _VELOCITY.sub(lambda m: m.group(1) + " \n  " + m.group(2) + " acceleration: \n" + m.group(3), text)
    return re.sub(r"(Etot variation[^\n]*\n \n)", lambda m: m.group(1) + _MOMENTUM, text)


def methylcytosine():
    """5-methylcytosine (16 atoms): demo cytosine with the H on C5 replaced by a tetrahedral CH3."""
    symbols, xyz = list(demo.SYMBOLS), demo.equilibrium_geometry()
    top = perceive_topology(symbols, xyz)
    c5 = top.names.index("C5")
    h = next(n for n in top.neighbors(c5) if symbols[n] == "H")
    axis = (xyz[h] - xyz[c5]) / np.linalg.norm(xyz[h] - xyz[c5])
    carbon = xyz[c5] + 1.50 * axis
    perp = np.cross(axis, [0.0, 0.0, 1.0])
    perp /= np.linalg.norm(perp)
    other = np.cross(axis, perp)
    hs = [carbon + 1.09 * (np.cos(np.radians(70.5)) * axis + np.sin(np.radians(70.5))
                           * (np.cos(a) * perp + np.sin(a) * other)) for a in np.radians([90.0, 210.0, 330.0])]
    symbols[h] = "C"
    xyz = xyz.copy()
    xyz[h] = carbon
    return symbols + ["H", "H", "H"], np.vstack([xyz, hs])


def manifest_rows(tmp: Path, n: int = 1000):
    """Discovery + manifest digest of ``n`` trajectory folders: size+mtime (chosen) vs content hash."""
    import os

    from analysis.io.digest import manifest_digest
    from analysis.io.discover import discover, manifest

    demo.generate_demo(tmp / "one", n_trajectories=1, seed=1, t_max_fs=200.0, broken_fraction=0)
    src = tmp / "one" / "ensemble" / "TRAJ1" / "RESULTS"
    for k in range(1, n + 1):
        res = tmp / "many" / f"TRAJ{k}" / "RESULTS"
        res.mkdir(parents=True)
        for f in src.iterdir():
            os.link(f, res / f.name)
    secs, found = best_of(lambda: discover(tmp / "many"))
    secs_m, m = best_of(lambda: manifest_digest(manifest(found)))
    secs_h, _ = best_of(lambda: manifest(found, content_hash=True))
    size_mb = manifest(found)["size_bytes"].sum() / 1e6
    return [(f"discover {n} trajectory folders", n, secs, "trajectories/s"),
            (f"manifest size+mtime + digest (chosen)", n, secs_m, f"{size_mb:.0f} MB of trajectory files"),
            (f"manifest with content hash (BLAKE2)", n, secs_h, f"{size_mb / secs_h:.0f} MB/s, warm page cache")]


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        demo.generate_demo(tmp, n_trajectories=10, seed=1, t_max_fs=1000.0, broken_fraction=0)
        folders = sorted((Path(tmp) / "ensemble").glob("TRAJ*"))
        dyns = [f / "RESULTS" / "dyn.out" for f in folders]
        size = sum(d.stat().st_size for d in dyns)
        secs, parsed = best_of(lambda: [read_dyn_out(d) for d in dyns])
        n = sum(len(p["time_fs"]) for p in parsed)
        rows.append(("Newton-X dyn.out reader (ensemble)", n, secs, f"{size / n / 1024:.2f} kB/step, {size / secs / 1e6:.0f} MB/s"))
        cs_dyns = []
        for d in dyns:
            cs = d.with_name("dyn_nxcs.out")
            cs.write_text(nx_cs_layout(d.read_text()))
            cs_dyns.append(cs)
        cs_size = sum(d.stat().st_size for d in cs_dyns)
        secs, cs_parsed = best_of(lambda: [read_dyn_out(d) for d in cs_dyns])
        rows.append(("Newton-X dyn.out reader, NX-CS layout", n, secs, f"{cs_size / n / 1024:.2f} kB/step, {cs_size / secs / 1e6:.0f} MB/s"))
        secs, trajs = best_of(lambda: [read_newtonx(f) for f in folders])
        rows.append(("Newton-X trajectory (dyn.out+en.dat+typeofdyn)", sum(t.n_frames for t in trajs), secs, ""))
        xyz = Path(tmp) / "traj.xyz"
        with open(xyz, "w") as fh:
            for frame in parsed[0]["coords_angstrom"]:
                fh.write(f"{len(frame)}\nframe\n")
                fh.writelines(f"{s} {x:.8f} {y:.8f} {z:.8f}\n" for s, (x, y, z) in zip(parsed[0]["symbols"], frame))
        try:
            import MDAnalysis as mda

            def mda_read():
                u = mda.Universe(str(xyz), format="XYZ")
                return u.trajectory.timeseries(order="fac")

            secs_mda, arr = best_of(mda_read)
            rows.append(("MDAnalysis XYZ reader (same geometry)", len(arr), secs_mda, ""))
        except ImportError:
            pass
    with tempfile.TemporaryDirectory() as tmp:
        rows += manifest_rows(Path(tmp))
    symbols, xyz_eq = methylcytosine()
    top = perceive_topology(symbols, xyz_eq)
    frames = xyz_eq[None] + np.random.default_rng(0).normal(0, 0.05, size=(200_000, len(xyz_eq), 3))
    secs, feats = best_of(lambda: featurize(frames, top), repeat=2)
    rows.append((f"features, default families ({feats.shape[1]} columns, {len(symbols)} atoms)", len(frames), secs, ""))
    print(f"{'benchmark':45s} {'frames':>9s} {'seconds':>9s} {'frames/s':>11s}  note")
    for name, n, s, note in rows:
        print(f"{name:45s} {n:9d} {s:9.3f} {n / s:11.0f}  {note}")


if __name__ == "__main__":
    main()
