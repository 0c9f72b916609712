# hopscope: two commands for a new user.
#   make run   - set up .venv (if needed) and run the pipeline on the built-in demo ensemble
#   make test  - set up .venv (if needed) with test extras and run the test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= all
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_CLUSTER := $(VENV)/.installed-cluster

.PHONY: run test test-cluster lint bench screenshots clean-results

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (hopscope needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP_RUN): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $@

$(STAMP_TEST): $(STAMP_RUN) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	@touch $@

$(STAMP_CLUSTER): $(STAMP_TEST) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test,cluster]"
	@touch $@

run: $(STAMP_RUN)
	$(BIN)/snakemake --cores $(CORES) --printshellcmds

test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# the demo through a single-node SLURM started on this machine (Debian slurm-wlm + munge, installed if missing;
# needs root); skips with the reason where that cannot be done
test-cluster: $(STAMP_CLUSTER)
	$(BIN)/python -m pytest -q -m cluster tests/test_slurm.py

lint: $(STAMP_RUN)
	$(BIN)/snakemake --lint

# shnitsel-tools (for the side-by-side reading benchmark) in its own environment: it pulls jupyter, rdkit and ase
SHNITSEL_STAMP := .venv-shnitsel/.installed
$(SHNITSEL_STAMP): bench/shnitsel-constraints.txt
	$(PYTHON) -m venv .venv-shnitsel
	.venv-shnitsel/bin/pip install --quiet -c bench/shnitsel-constraints.txt shnitsel-tools \
	  || echo "warning: shnitsel-tools could not be installed; bench/side_by_side.py will say so"
	@touch $@

bench: $(STAMP_TEST) $(SHNITSEL_STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/side_by_side.py
	$(BIN)/python bench/pipeline.py --scaling 250 500 1000 2000
	$(BIN)/python bench/store_formats.py
	$(BIN)/python bench/formation_scale.py
	$(BIN)/python bench/planted_family.py
	$(BIN)/python bench/independent_planted.py 2
	$(BIN)/python bench/small_runs.py
	$(BIN)/python bench/cluster_scale.py
	$(BIN)/python bench/surrogate.py
	$(BIN)/python bench/surrogate.py --speed

screenshots: $(STAMP_RUN)
	$(BIN)/python -m analysis.report.screenshot results/report/report.html results/report/screenshots 1280 800

clean-results:
	rm -rf results logs .snakemake
