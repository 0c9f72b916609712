"""The configuration's defaults, read from the workflow's config schema (``workflow/schemas/config.schema.yaml``),
the one place they are written: Snakemake fills a run's config from it, and library functions called without a
config take their defaults from here, so the two cannot drift apart."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=None)
def _schema(path: str) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def load_schema(path: str | Path = SCHEMA) -> dict:
    """The config schema as a dict (read once per process)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the config schema, where hopscope's defaults are written, is missing; "
                                "run from a checkout of the repository (pip install -e .)")
    return _schema(str(path))


def nested_defaults(spec: dict) -> dict:
    """Defaults of an object schema as a nested dict: a property's own ``default``, and for an object property
    its properties' defaults on top of it (``surrogate.mlp`` defaults to ``{}`` with defaults inside)."""
    out = {}
    for key, prop in (spec.get("properties") or {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            out[key] = {**(prop.get("default") or {}), **nested_defaults(prop)}
        elif "default" in prop:
            out[key] = prop["default"]
    return out


def defaults(section: str, path: str | Path = SCHEMA) -> dict:
    """Defaults of one top-level config section, e.g. ``defaults("qc")["max_etot_drift_ev"]``."""
    schema = load_schema(path)
    if section not in schema.get("properties", {}):
        raise KeyError(f"{path}: no config section {section!r}")
    return nested_defaults(schema["properties"][section])


def flat_defaults(schema: dict, prefix: str = "") -> dict[str, object]:
    """Flattened ``{"cluster.min_share": 0.03, …}`` of every property with a default in a JSON schema."""
    out = {}
    for key, spec in (schema.get("properties") or {}).items():
        name = f"{prefix}{key}"
        if spec.get("type") == "object" and "properties" in spec:
            out.update(flat_defaults(spec, name + "."))
        elif "default" in spec:
            out[name] = spec["default"]
    return out
