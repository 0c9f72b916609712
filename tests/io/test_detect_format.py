"""Which format a folder is, from the files in it (the registry's detectors and signatures)."""

import pytest

from analysis.io.discover import REGISTRY, detect_format
from analysis.io.newtonx import is_newtonx, results_dir
from analysis.io.nexmd import is_nexmd
from analysis.io.pyrai2md import is_pyrai2md
from analysis.io.sharc import is_sharc
from analysis.io.xyz import is_xyz

DETECTORS = {"newtonx": is_newtonx, "sharc": is_sharc, "pyrai2md": is_pyrai2md, "nexmd": is_nexmd, "xyz": is_xyz}


def _folder(tmp_path, name, files):
    folder = tmp_path / name
    for f in files:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        (folder / f).write_text("x\n")
    return folder


@pytest.mark.parametrize("files, expected", [
    (["RESULTS/dyn.out", "RESULTS/en.dat"], "newtonx"),
    (["RESULTS/dyn.xyz", "RESULTS/en.dat", "RESULTS/sh.out"], "newtonx"),
    (["dyn.out", "en.dat"], "newtonx"),  # files straight in the folder
    (["output.lis", "output.dat", "input"], "sharc"),
    (["output.lis", "output.xyz"], "sharc"),
    (["mol.md.energies", "mol.md.xyz", "mol.sh.energies"], "pyrai2md"),
    (["coords.xyz", "pes.out", "hops.out"], "nexmd"),
    (["run.xyz"], "xyz"),
    (["run.xyz", "run.csv"], "xyz"),
    # incomplete sets: the format whose signature is there (its reader then names what is missing)
    (["RESULTS/en.dat"], "newtonx"),
    (["output.lis"], "sharc"),
    (["pes.out"], "nexmd"),
    (["notes.txt"], None),
    (["a.xyz", "b.xyz"], "xyz"),  # two XYZ files: not complete, but meant as XYZ
    # a program's run missing a file is that program's (named missing), not a bare XYZ on state 1
    (["coords.xyz", "coeff-n.out", "hops.out"], "nexmd"),
    (["run.xyz", "en.dat"], "xyz"),  # a user's own XYZ stays plain XYZ beside a stray program file
])
def test_detect_format_from_the_files_present(tmp_path, files, expected):
    folder = _folder(tmp_path, "traj", files)
    assert detect_format(folder) == expected
    complete = expected is not None and files not in (["RESULTS/en.dat"], ["output.lis"], ["pes.out"], ["a.xyz", "b.xyz"],
                                                      ["coords.xyz", "coeff-n.out", "hops.out"])
    for name, detector in DETECTORS.items():
        assert REGISTRY[name].detect is detector
        assert detector(folder) == (complete and name == expected) or (name == "xyz" and detector(folder) and expected != "xyz")


def test_results_dir_prefers_the_results_subfolder(tmp_path):
    with_results = _folder(tmp_path, "a", ["RESULTS/en.dat"])
    flat = _folder(tmp_path, "b", ["en.dat"])
    assert results_dir(with_results) == with_results / "RESULTS"
    assert results_dir(flat) == flat
