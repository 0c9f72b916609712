"""Predict state energies, gaps and their uncertainty for the geometries of an XYZ file.

    python -m analysis.surrogate.predict results/surrogate/model geometries.xyz -o energies.csv
    hopscope-predict results/surrogate/model geometries.xyz -o energies.csv

The XYZ file (Å, one or more frames) must list the same elements in the same order as the training
molecule, or, for a model trained on a part of a simulated system (``features.atoms``: a QM/MM run's QM
region), the whole system's atoms as the trajectories list them; otherwise the model refuses it. The CSV holds one row per frame: ``<state>_ev``, the first gap and
their calibrated 1σ (``*_sigma_ev``), all in eV.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from analysis.io.text import read_xyz_frames
from analysis.surrogate.modelfile import load_model


def predict_xyz(model_dir, xyz_path, out_csv=None) -> pd.DataFrame:
    """Energies (eV) and σ for every frame of ``xyz_path``; written to ``out_csv`` when given."""
    model = load_model(model_dir)
    frames = read_xyz_frames(xyz_path)
    table = model.predict_table(frames["coords_angstrom"], symbols=list(frames["symbols"]))
    if out_csv is not None:
        Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out_csv, index=False, float_format="%.6f")
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", help="folder with model.json + model.npz (results/surrogate/model)")
    parser.add_argument("xyz", help="XYZ file, Å, one or more frames")
    parser.add_argument("-o", "--output", help="CSV to write (default: print)")
    args = parser.parse_args(argv)
    table = predict_xyz(args.model_dir, args.xyz, args.output)
    if args.output is None:
        print(table.to_csv(index=False, float_format="%.6f"), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
