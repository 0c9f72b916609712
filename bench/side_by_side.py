"""Side by side: reading the same Newton-X trajectory folders with hopscope, shnitsel-tools and MDAnalysis.

    python bench/side_by_side.py                      # 50 trajectories x 1,000 steps (50,050 frames)
    python bench/side_by_side.py --trajectories 200 --steps 1000

The folders are the pipeline benchmark's generated ensemble (bench/pipeline.py, cached under ``bench/.cache/``)
with the two files real Newton-X runs also hold and shnitsel-tools needs (it wants three of ``nx.log``,
``dyn.xyz``, ``dyn.out``, ``en.dat``): ``RESULTS/dyn.xyz`` (Å, as Newton-X writes it) and ``control.dyn``.

* hopscope: ``analysis.io.newtonx.read_newtonx`` on each folder (dyn.out + en.dat + typeofdyn.log → coordinates,
  time, active state, per-state energies), one core;
* shnitsel-tools (pinned in ``bench/shnitsel-constraints.txt``, installed by ``make bench`` into its own
  ``.venv-shnitsel``, since it pulls jupyter and rdkit): ``shnitsel.io.read.read(kind="newtonx",
  concat_method="list", parallel=False)`` on the same root, one core, in a subprocess; its import time is
  reported apart;
* MDAnalysis (the project's coordinate layer): ``Universe(dyn.xyz).trajectory.timeseries()`` on each folder,
  coordinates only.

Every reader's coordinates of the first trajectory are compared with hopscope's (max |Δ| in Å), so the ratio is
between readers that return the same geometry.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import CACHE, DT_FS, ensemble  # noqa: E402

from analysis.io.newtonx import read_newtonx  # noqa: E402

SHNITSEL_PYTHON = ROOT / ".venv-shnitsel" / "bin" / "python"

SHNITSEL_SCRIPT = r"""
import json, sys, time, logging
logging.disable(logging.WARNING)
t0 = time.perf_counter()
from shnitsel.io.read import read
import shnitsel
t1 = time.perf_counter()
trajs = read(sys.argv[1], kind="newtonx", concat_method="list", parallel=False, error_reporting="raise")
t2 = time.perf_counter()
trajs = sorted(trajs, key=lambda t: int(t.attrs["trajectory_id"]))
first = trajs[0]
xyz = first["atXYZ"]
print(json.dumps({"version": shnitsel.__version__ if hasattr(shnitsel, "__version__") else "?",
                  "import_s": t1 - t0, "read_s": t2 - t1, "n_trajectories": len(trajs),
                  "frames": int(sum(int(t.sizes["time"]) for t in trajs)),
                  "first_units": str(xyz.attrs.get("units", "")), "first_xyz": xyz.values.tolist()}))
"""


def write_extra_files(folder: Path) -> None:
    """``RESULTS/dyn.xyz`` (Å) and ``control.dyn`` of one trajectory folder, as Newton-X writes them."""
    traj = read_newtonx(folder)
    lines = []
    for t, frame in zip(traj.time_fs, traj.coords_angstrom):
        lines.append(f" {len(frame)} \n Time = {t:.2f} \n")
        lines.extend(f"{s:2s} {x:12.8f} {y:12.8f} {z:12.8f}\n" for s, (x, y, z) in zip(traj.symbols, frame))
    (folder / "RESULTS" / "dyn.xyz").write_text("".join(lines))
    (folder / "control.dyn").write_text(
        f"&input\n  nxrestart = 0\n nat = {traj.n_atoms}\n nstat = {traj.energies_ev.shape[1]}\n  nstatdyn = 2\n"
        f" dt = {DT_FS}\n tmax = {traj.time_fs[-1]:.1f}\n prog = 1.0\n/\n")


def side_by_side_root(n_trajectories: int, steps: int) -> Path:
    """Hard links of the generated ensemble plus one dyn.xyz/control.dyn per distinct trajectory (cached)."""
    out = CACHE / f"sidebyside_{n_trajectories}x{steps}"
    if out.is_dir():
        return out
    src_root = ensemble(n_trajectories, steps)
    tmp = out.with_suffix(".tmp")
    extras: dict[int, Path] = {}
    for k in range(1, n_trajectories + 1):
        src = src_root / f"TRAJ{k}"
        dest = tmp / f"TRAJ{k}"
        (dest / "RESULTS").mkdir(parents=True, exist_ok=True)
        for path in (src / "RESULTS").iterdir():
            os.link(path, dest / "RESULTS" / path.name)
        inode = (src / "RESULTS" / "dyn.out").stat().st_ino
        if inode not in extras:
            write_extra_files(dest)
            extras[inode] = dest
        else:
            for name in ("RESULTS/dyn.xyz", "control.dyn"):
                os.link(extras[inode] / name, dest / name)
    tmp.rename(out)
    return out


def time_hopscope(folders: list[Path]) -> tuple[float, int, np.ndarray]:
    t0 = time.perf_counter()
    trajs = [read_newtonx(f) for f in folders]
    secs = time.perf_counter() - t0
    return secs, sum(t.n_frames for t in trajs), trajs[0].coords_angstrom


def time_mdanalysis(folders: list[Path]) -> tuple[float, int, np.ndarray]:
    import MDAnalysis as mda

    t0 = time.perf_counter()
    arrays = [mda.Universe(str(f / "RESULTS" / "dyn.xyz"), format="XYZ").trajectory.timeseries(order="fac")
              for f in folders]
    secs = time.perf_counter() - t0
    return secs, sum(len(a) for a in arrays), arrays[0]


def time_shnitsel(root: Path) -> dict | str:
    """shnitsel-tools' reading of ``root`` in its own environment; a string saying why where it cannot run."""
    if not SHNITSEL_PYTHON.exists():
        return f"not installed ({SHNITSEL_PYTHON} missing; `make bench` installs it)"
    proc = subprocess.run([str(SHNITSEL_PYTHON), "-c", SHNITSEL_SCRIPT, str(root)], capture_output=True, text=True)
    if proc.returncode:
        return "failed: " + (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trajectories", type=int, default=50)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    root = side_by_side_root(args.trajectories, args.steps)
    folders = sorted(root.glob("TRAJ*"), key=lambda p: int(p.name[4:]))
    size_mb = sum(f.stat().st_size for d in folders for f in (d / "RESULTS").iterdir()) / 1e6
    secs_h, frames_h, xyz_h = time_hopscope(folders)
    rows = [("hopscope read_newtonx (dyn.out+en.dat+typeofdyn.log)", frames_h, secs_h, 0.0, "")]
    secs_m, frames_m, xyz_m = time_mdanalysis(folders)
    rows.append(("MDAnalysis XYZ reader (dyn.xyz, coordinates only)", frames_m, secs_m,
                 float(np.abs(xyz_m - xyz_h).max()), ""))
    shn = time_shnitsel(root)
    if isinstance(shn, dict):
        # shnitsel takes atXYZ from dyn.xyz, whose numbers are Å (as hopscope's and MDAnalysis'), yet labels them
        # "Bohr" (measured with 2026.5.1 here and on the real cyclohexadiene set): compared as numbers, label shown
        xyz_s = np.asarray(shn["first_xyz"])
        rows.append((f"shnitsel-tools read(kind=newtonx), import {shn['import_s']:.1f} s not counted", shn["frames"],
                     shn["read_s"], float(np.abs(xyz_s[: len(xyz_h)] - xyz_h).max()),
                     f"atXYZ labelled {shn['first_units']!r}, numbers are Å"))
    print(f"\nreading the same {len(folders)} Newton-X trajectories x {args.steps} steps ({size_mb:,.0f} MB of "
          f"RESULTS files), one core")
    print(f"{'reader':62s} {'frames':>8s} {'seconds':>8s} {'frames/s':>9s} {'hopscope x':>10s} {'max|dxyz| A':>12s}")
    for name, n, s, dev, note in rows:
        ratio = (frames_h / secs_h) / (n / s)
        print(f"{name:62s} {n:8d} {s:8.2f} {n / s:9.0f} {ratio:10.1f} {dev:12.1e}  {note}")
    if isinstance(shn, str):
        print(f"{'shnitsel-tools':62s} {shn}")


if __name__ == "__main__":
    main()
