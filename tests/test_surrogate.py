import json

import pandas as pd

from analysis.ingest import ingest_batch
from analysis.qc import run_qc
from analysis.surrogate.train import load_surrogate, train_surrogate


def test_mlp_beats_baselines_on_held_out_trajectories(small_demo, tmp_path):
    out, truth = small_demo
    ingest_batch(out / "ensemble", tmp_path / "s.npz", tmp_path / "t.csv")
    run_qc([tmp_path / "s.npz"], [tmp_path / "t.csv"], tmp_path / "qc.csv", tmp_path / "traj.parquet")
    metrics = train_surrogate([tmp_path / "s.npz"], tmp_path / "traj.parquet", tmp_path / "m.json", tmp_path / "model",
                              hidden_layer_sizes=(64, 64), max_iter=200, frame_stride=4, random_state=0)
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert not set(meta["train_trajectories"]) & set(meta["test_trajectories"])
    excluded = set(truth.loc[truth.broken != "", "trajectory_id"])
    assert not excluded & (set(meta["train_trajectories"]) | set(meta["test_trajectories"]))
    m = metrics["models"]
    assert m["mlp"]["mean_mae_ev"] < 0.5 * m["mean"]["mean_mae_ev"]
    assert m["mlp"]["mean_mae_ev"] < m["ridge"]["mean_mae_ev"]
    held = pd.read_csv(tmp_path / "model" / "heldout_predictions.csv")
    assert set(held.trajectory_id) == set(meta["test_trajectories"])
    predict = load_surrogate(tmp_path / "model")
    from analysis.io.newtonx import read_newtonx

    t = read_newtonx(out / "ensemble" / meta["test_trajectories"][0])
    pred = predict(t.coords_angstrom[::20])
    assert abs(pred - t.energies_ev[::20]).mean() < 3 * m["mlp"]["mean_mae_ev"] + 0.1
