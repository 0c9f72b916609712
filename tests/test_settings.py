"""Defaults are written once, in the config schema; the library reads them from there."""

import pytest
import yaml

from analysis import settings
from tests.conftest import ROOT


def test_nested_defaults_of_an_object_schema():
    spec = {"properties": {"a": {"type": "integer", "default": 1}, "b": {"type": "string"},
                           "mlp": {"type": "object", "default": {"x": 0}, "properties": {"y": {"default": 2}, "z": {}}}}}
    assert settings.nested_defaults(spec) == {"a": 1, "mlp": {"x": 0, "y": 2}}


def test_library_defaults_are_the_schema_defaults():
    from analysis.qc import DEFAULT_EXCLUDE_FLAGS, DEFAULT_THRESHOLDS
    from analysis.surrogate.train import DEFAULTS

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())["properties"]
    qc = schema["qc"]["properties"]
    assert DEFAULT_THRESHOLDS == {k: qc[k]["default"] for k in DEFAULT_THRESHOLDS}
    assert DEFAULT_EXCLUDE_FLAGS == qc["exclude_flags"]["default"]
    surrogate = schema["surrogate"]["properties"]
    assert DEFAULTS["cv_max_frames"] == surrogate["cv_max_frames"]["default"]
    assert DEFAULTS["mlp"]["patience"] == surrogate["mlp"]["properties"]["patience"]["default"]


def test_unknown_section_and_missing_schema_say_so(tmp_path):
    with pytest.raises(KeyError, match="no config section 'bogus'"):
        settings.defaults("bogus")
    with pytest.raises(FileNotFoundError, match="config schema"):
        settings.defaults("qc", tmp_path / "absent.yaml")


def test_load_schema_reads_the_repository_schema_and_names_a_missing_one(tmp_path):
    schema = settings.load_schema()
    assert {"input", "qc", "cluster", "surrogate"} <= set(schema["properties"])
    with pytest.raises(FileNotFoundError, match=r"absent\.yaml: the config schema"):
        settings.load_schema(tmp_path / "absent.yaml")


def test_runlog_setup_sends_logging_and_stderr_to_the_log(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "job.log"
    code = ("import logging, sys; from analysis.runlog import setup; setup(sys.argv[1]); "
            "logging.getLogger('hopscope').info('from logging'); print('from stderr', file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    text = log.read_text()
    assert "INFO hopscope: from logging" in text and "from stderr" in text


def test_a_job_log_has_no_warning_about_an_unused_mdanalysis_writer(tmp_path):
    """MDAnalysis warns on import that netCDF4 is missing (AMBER ncdf writing only): not a warning for our users.
    Other MDAnalysis warnings still reach the log."""
    import subprocess
    import sys

    log = tmp_path / "job.log"
    code = ("import logging, sys; from analysis.runlog import setup; setup(sys.argv[1]); import MDAnalysis; "
            "logging.getLogger('MDAnalysis.coordinates.PDB').warning('kept'); "
            "logging.getLogger('MDAnalysis.core.universe').info('attribute masses has been guessed successfully')")
    proc = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert "netCDF4" not in text and "WARNING MDAnalysis.coordinates.PDB: kept" in text
    assert "guessed successfully" not in text  # per-trajectory INFO chatter of XYZ reading
