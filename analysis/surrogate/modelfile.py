"""The trained surrogate as a predictor, and its model files: ``model.json`` + ``model.npz``, never pickle.

``model.json`` holds what a reader needs to trust the file: descriptor, element order, reference geometry,
state names, units, calibration, the chosen model and its hyperparameters, package versions. ``model.npz``
holds only numeric arrays (weights, scalers, training descriptors) and is opened with
``allow_pickle=False``, so loading a model from someone else never runs their code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.surrogate.calibration import calibrated_sigma
from analysis.surrogate.descriptors import descriptor
from analysis.surrogate.domain import TrainingDomain
from analysis.surrogate.models import MODEL_CLASSES
from analysis.surrogate.selection import blend
from analysis.surrogate.targets import from_ladder

FORMAT_VERSION = 1


class ModelMismatchError(ValueError):
    """A geometry does not match the atoms the model was trained on."""


@dataclass
class SurrogateModel:
    """Fitted components (kind, estimator) averaged with ``weights``; uncertainty = calibrated spread.

    Components predict the energy ladder (:mod:`analysis.surrogate.targets`): S0 and the adjacent gaps.
    ``calibration`` (2, n_states + 1): scale and floor (eV) per state and for the first gap (state 1 − state 0),
    σ = √((scale·spread)² + floor²) (:mod:`analysis.surrogate.calibration`).
    """

    components: list
    weights: list
    calibration: np.ndarray
    descriptor: str
    reference_angstrom: np.ndarray
    symbols: list
    state_names: list
    info: dict = field(default_factory=dict)
    domain: TrainingDomain | None = None  # where the training frames lie (:mod:`analysis.surrogate.domain`)

    @property
    def gap_name(self) -> str | None:
        return f"gap_{self.state_names[1]}_{self.state_names[0]}" if len(self.state_names) > 1 else None

    def check_symbols(self, symbols, source="the geometry"):
        """Refuse a geometry whose element order differs from the training molecule's."""
        if symbols is not None and list(symbols) != list(self.symbols):
            system = self.info.get("system_symbols")
            raise ModelMismatchError(f"{source} has atoms {' '.join(symbols)} but the model was trained on "
                                     f"{' '.join(self.symbols)} (same elements in the same order expected"
                                     + (f"; or the whole simulated system's {len(system)} atoms, of which atoms "
                                        f"{_numbers(self.info['atoms'])} are analysed" if system else "") + ")")

    def selection(self):
        """The analysed atoms of the simulated system the model was trained on (``info``: ``atoms``,
        ``system_symbols``; :class:`analysis.atoms.AtomSelection`), or None: the whole system."""
        from analysis.atoms import AtomSelection

        return AtomSelection.from_record(self.info)

    def analysed(self, coords_angstrom, symbols=None):
        """(coordinates, symbols) of the atoms the model was trained on: a geometry of the whole simulated system
        (``info['system_symbols']``, a QM/MM run with its solvent) is cut to its analysed atoms (``info['atoms']``,
        ``features.atoms``); any other passes as it is."""
        coords, selection = np.asarray(coords_angstrom, dtype=float), self.selection()
        if (selection is not None and coords.ndim == 3 and coords.shape[1] == len(selection.system_symbols)
                and (symbols is None or selection.applies(symbols))):
            return coords[:, list(selection.atoms)], (None if symbols is None else selection.symbols())
        return coords, symbols

    def features(self, coords_angstrom) -> np.ndarray:
        """The descriptor (``self.descriptor``, :func:`analysis.surrogate.descriptors.descriptor`) of the analysed atoms of each
        geometry."""
        coords, _ = self.analysed(coords_angstrom)
        if coords.ndim != 3 or coords.shape[1:] != (len(self.symbols), 3):
            raise ModelMismatchError(f"coordinates of shape {coords.shape} given; the model expects (n_frames, {len(self.symbols)}, 3)")
        return descriptor(self.descriptor, coords, self.reference_angstrom)

    def raw(self, coords_angstrom, features=None):
        """Mean energies (n, n_states) eV and the uncalibrated committee spread, gap column appended to both
        (``features``: :meth:`features` of these coordinates, when the caller has them already)."""
        x = self.features(coords_angstrom) if features is None else features
        preds = [model.predict(x, return_std=True) for _, model in self.components]
        return from_ladder(*blend([p[0] for p in preds], [p[1] for p in preds], self.weights))

    def predict(self, coords_angstrom, symbols=None):
        """Energies (n, n_states) in eV, absolute, and their calibrated 1σ uncertainty (eV)."""
        coords_angstrom, symbols = self.analysed(coords_angstrom, symbols)
        self.check_symbols(symbols)
        mean, std = self.raw(coords_angstrom)
        n = len(self.state_names)
        return mean[:, :n], calibrated_sigma(std, self.calibration)[:, :n]

    def predict_table(self, coords_angstrom, symbols=None) -> pd.DataFrame:
        """One row per frame: ``<state>_ev``, ``<gap>_ev`` and their ``sigma_ev`` columns; with a training domain also
        ``domain_distance`` and ``outside_training_domain`` (a geometry unlike every training frame: trust the
        prediction less than its σ says)."""
        coords_angstrom, symbols = self.analysed(coords_angstrom, symbols)
        self.check_symbols(symbols)
        x = self.features(coords_angstrom)
        return self.table_from_raw(x, *self.raw(coords_angstrom, features=x))

    def table_from_raw(self, features, mean, std) -> pd.DataFrame:
        """:meth:`predict_table` from the :meth:`raw` output ``mean``, ``std`` of geometries whose :meth:`features`
        are ``features`` (computed once by a caller that also needs the raw committee spread)."""
        sigma = calibrated_sigma(std, self.calibration)
        names = list(self.state_names) + ([self.gap_name] if self.gap_name else [])
        table = pd.DataFrame({"frame": np.arange(len(mean))})
        for k, name in enumerate(names):
            table[f"{name}_ev"] = mean[:, k]
        for k, name in enumerate(names):
            table[f"{name}_sigma_ev"] = sigma[:, k]
        if self.domain is not None:
            distance = self.domain.distance(features)
            table["domain_distance"] = distance
            table["outside_training_domain"] = distance > self.domain.threshold_
        return table


def save_model(model: SurrogateModel, directory) -> None:
    """Write ``model.json`` (metadata) and ``model.npz`` (arrays only) into ``directory``."""
    import sklearn

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {"reference_angstrom": np.asarray(model.reference_angstrom, float), "calibration": np.asarray(model.calibration, float)}
    components = []
    for k, (kind, estimator) in enumerate(model.components):
        components.append({"kind": kind, "params": _jsonable(estimator.get_params())})
        arrays.update({f"c{k}/{name}": np.asarray(value) for name, value in estimator.arrays_().items()})
    domain = None
    if model.domain is not None:
        domain = _jsonable(model.domain.get_params())
        arrays.update({f"domain/{name}": np.asarray(value) for name, value in model.domain.arrays_().items()})
    meta = {"format": "hopscope-surrogate", "format_version": FORMAT_VERSION, "descriptor": model.descriptor,
            "symbols": list(model.symbols), "state_names": list(model.state_names), "weights": np.asarray(model.weights, float).tolist(),
            "components": components, "domain": domain, "units": {"energy": "eV (absolute, as in the input)", "coordinates": "Å", "sigma": "eV, 1σ"},
            "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "hopscope": _hopscope_version()},
            **model.info}
    np.savez(directory / "model.npz", **arrays)
    (directory / "model.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


def load_model(directory) -> SurrogateModel:
    """Read a model written by :func:`save_model`; arrays are loaded with ``allow_pickle=False``."""
    directory = Path(directory)
    meta_path, npz_path = directory / "model.json", directory / "model.npz"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path}: no surrogate model here (was it skipped? see metrics.json)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != "hopscope-surrogate" or meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{meta_path}: not a hopscope surrogate model of format version {FORMAT_VERSION}")
    with np.load(npz_path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    components = []
    for k, spec in enumerate(meta["components"]):
        cls = MODEL_CLASSES[spec["kind"]]  # a fixed table: the file names a kind, never a class to import
        own = {name.split("/", 1)[1]: value for name, value in arrays.items() if name.startswith(f"c{k}/")}
        components.append((spec["kind"], cls.from_arrays(spec["params"], own)))
    domain = None
    if meta.get("domain") is not None:
        domain = TrainingDomain.from_arrays(meta["domain"], {n.split("/", 1)[1]: v for n, v in arrays.items() if n.startswith("domain/")})
    info = {k: v for k, v in meta.items() if k not in ("descriptor", "symbols", "state_names", "weights", "components", "domain")}
    return SurrogateModel(components, meta["weights"], arrays["calibration"], meta["descriptor"], arrays["reference_angstrom"],
                          meta["symbols"], meta["state_names"], info, domain)


def _numbers(atoms) -> str:
    """1-based ranges of 0-based atom indices: [0, 1, 2, 5] -> '1-3,6'."""
    runs, out = [], []
    for a in sorted(atoms):
        if runs and a == runs[-1][1] + 1:
            runs[-1][1] = a
        else:
            runs.append([a, a])
    for lo, hi in runs:
        out.append(f"{lo + 1}" if lo == hi else f"{lo + 1}-{hi + 1}")
    return ",".join(out)


def _jsonable(params: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def _hopscope_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hopscope")
    except PackageNotFoundError:
        return "unknown"
