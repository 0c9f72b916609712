"""Trajectory store formats (issue 13): write time, read time and size of one batch of the benchmark ensemble.

    python bench/store_formats.py [STORE.npz]

Default input: batch 000 of the cached 1,000 x 1,000 benchmark run (``python bench/pipeline.py`` makes it). The
same trajectories are written and read back as:

- ``npz plain``: the pipeline's store (:func:`analysis.io.store.write_store`: ``numpy.savez``, one array per
  trajectory and quantity, plus the metadata);
- ``npz zlib``: the same arrays compressed (``numpy.savez_compressed``; the store's format until issue 13);
- ``parquet zstd``: one Arrow table, a row per frame, coordinates and energies as fixed-size lists (pyarrow,
  zstd level 3);
- ``zarr zstd``: a zarr v3 group, one array per trajectory and quantity, zstd level 3 (only when zarr is
  importable; it is not a hopscope dependency).

"read all" loads every array of every trajectory; "read energies" only the per-state energies (what QC and
the surrogate's frame collection need first). Times are the best of three, seconds; sizes MB.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.io.store import Store, write_store  # noqa: E402

DEFAULT = ROOT / "bench" / ".cache" / "run_1000x1000" / "results" / "ingest" / "batches" / "000.npz"
ARRAYS = ("time_fs", "coords_angstrom", "active_state", "energies_ev", "total_energy_ev", "potential_energy_ev")


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def npz_format(compressed: bool):
    def write(trajectories, path):
        if not compressed:
            write_store(trajectories, path)
        else:
            arrays = {f"{t.trajectory_id}/{name}": np.asarray(getattr(t, name)) for t in trajectories for name in ARRAYS}
            np.savez_compressed(path, **arrays)

    def read(path, names):
        with np.load(path, allow_pickle=False) as npz:
            return sum(npz[key].size for key in npz.files if key.rsplit("/", 1)[-1] in names)
    return write, read


def parquet_write(trajectories, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"trajectory_id": pa.array(np.concatenate([[t.trajectory_id] * len(t.time_fs) for t in trajectories]))}
    for name in ARRAYS:
        values = np.concatenate([np.asarray(getattr(t, name)).reshape(len(t.time_fs), -1) for t in trajectories])
        columns[name] = (pa.array(values[:, 0]) if values.shape[1] == 1
                         else pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1]))
    pq.write_table(pa.table(columns), path, compression="zstd", compression_level=3)


def parquet_read(path, names):
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=[n for n in names if n in ARRAYS] + ["trajectory_id"])
    total = 0
    for name in table.column_names[:-1]:
        column = table.column(name).combine_chunks()
        total += (column.flatten() if hasattr(column, "flatten") else column).to_numpy().size
    return total


def zarr_write(trajectories, path):
    import zarr
    from zarr.codecs import ZstdCodec

    group = zarr.open_group(str(path), mode="w")
    for t in trajectories:
        for name in ARRAYS:
            data = np.asarray(getattr(t, name))
            group.create_array(f"{t.trajectory_id}/{name}", data=data, compressors=ZstdCodec(level=3))


def zarr_read(path, names):
    import zarr

    group = zarr.open_group(str(path), mode="r")
    total = 0
    for tid in group.group_keys():
        for name in names:
            total += group[f"{tid}/{name}"][...].size
    return total


def main(store_path: Path) -> None:
    if not store_path.exists():
        sys.exit(f"{store_path} not found: run `python bench/pipeline.py` first (it caches the 1,000 x 1,000 run)")
    with Store(store_path) as store:
        trajectories = list(store)
    n_frames = sum(len(t.time_fs) for t in trajectories)
    print(f"{store_path}: {len(trajectories)} trajectories, {n_frames:,} frames, {len(trajectories[0].symbols)} atoms")
    formats = {"npz plain (current)": (npz_format(False)[0], npz_format(False)[1], ".npz"),
               "npz zlib": (npz_format(True)[0], npz_format(True)[1], ".npz"),
               "parquet zstd": (parquet_write, parquet_read, ".parquet")}
    try:
        import zarr  # noqa: F401

        formats["zarr zstd"] = (zarr_write, zarr_read, ".zarr")
    except ImportError:
        print("(zarr is not installed: `pip install zarr` to add its line; it is not a hopscope dependency)")
    print(f"{'format':22s} {'size MB':>8s} {'write s':>8s} {'read all s':>11s} {'read energies s':>16s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (write, read, suffix) in formats.items():
            path = Path(tmp) / f"store{suffix}"

            def write_once(path=path, write=write):
                if path.is_dir():
                    shutil.rmtree(path)
                write(trajectories, path)
            w = best_of(write_once)
            r_all = best_of(lambda path=path, read=read: read(path, ARRAYS))
            r_energy = best_of(lambda path=path, read=read: read(path, ("energies_ev",)))
            print(f"{name:22s} {size_mb(path):8.1f} {w:8.2f} {r_all:11.2f} {r_energy:16.2f}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
