"""Where a report comes from: input root and manifest digest, the configuration against its schema defaults,
package versions, seed and date."""

from __future__ import annotations

import html
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis.io.digest import manifest_digest
from analysis.report.html import table_html
from analysis.settings import SCHEMA, flat_defaults, load_schema

PACKAGES = ("hopscope", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "MDAnalysis", "snakemake", "pyarrow")


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Installed version of each package ('not installed' when absent) and of Python."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def load_schema_defaults(path: str | Path = SCHEMA) -> dict[str, object]:
    """Flattened defaults (:func:`analysis.settings.flat_defaults`) of the workflow's config schema; empty when the
    schema is not there."""
    return flat_defaults(load_schema(path)) if Path(path).exists() else {}


def _flatten(config: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in (config or {}).items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_table(config: dict, defaults: dict) -> pd.DataFrame:
    """key, value, default, changed (True where the value differs from the schema default or has none)."""
    flat = _flatten(config)
    rows = []
    for key in flat:
        value, has_default = flat[key], key in defaults
        rows.append({"key": key, "value": value, "default": defaults[key] if has_default else "",
                     "changed": (not has_default) or value != defaults[key]})
    return pd.DataFrame(rows, columns=["key", "value", "default", "changed"])


def ensemble_digest(manifest_paths) -> str:
    """:func:`~analysis.io.digest.manifest_digest` of all batches' manifests together (empty: 'none')."""
    tables = [pd.read_csv(p, sep="\t", dtype=str) for p in sorted(map(str, manifest_paths)) if Path(p).exists()]
    tables = [t for t in tables if len(t)]
    return manifest_digest(pd.concat(tables, ignore_index=True)) if tables else "none"


def provenance_html(config: dict, manifest_paths=(), now: datetime | None = None) -> str:
    """The provenance section: run facts, package versions and the configuration (changed values highlighted)."""
    config = config or {}
    root = (config.get("input") or {}).get("root", "")
    facts = pd.DataFrame({"item": ["input root", "manifest digest", "seed", "report written (UTC)"],
                          "value": [f"{root} ({Path(root).resolve()})" if root and root != "demo" else "demo (built-in generator)",
                                    ensemble_digest(manifest_paths), str(config.get("seed", "")),
                                    (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")]})
    versions = pd.DataFrame(list(package_versions().items()), columns=["package", "version"])
    table = config_table(config, load_schema_defaults())
    rows = "".join(
        f'<tr class="{"changed" if r.changed else ""}"><td>{html.escape(r.key)}</td><td>{html.escape(str(r.value))}</td>'
        f"<td>{html.escape(str(r.default))}</td></tr>" for r in table.itertuples())
    cfg = (f'<div class="scroll"><table class="tbl"><thead><tr><th>key</th><th>value</th><th>schema default</th></tr></thead>'
           f"<tbody>{rows}</tbody></table></div>")
    n_changed = int(table["changed"].sum())
    return (table_html(facts) + "<h3>Packages</h3>" + table_html(versions)
            + f"<h3>Configuration</h3><p>{n_changed} of {len(table)} values differ from the schema default "
            "(highlighted).</p>" + cfg)
