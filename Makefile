# lstm97: two commands do everything on a machine that has python3.
#   make reproduce   train, then run every notebook through papermill into results/ (SCALE=paper|smoke,
#                    SCHEDULER=host:port); changes no tracked file
#   make test        run every test (pytest, and nbval on the recorded notebook outputs)
# Both run in .venv, built from requirements.lock (the exact versions; `make lock` refreshes it).
# With PY=python they use that interpreter's environment instead and build no venv, e.g. an
# active conda environment made from environment.yml:  make test PY=python
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
SCALE ?= paper
SCHEDULER ?=
# make reproduce: trial records in RESULTS, executed notebooks in RESULTS/notebooks (git-ignored)
RESULTS ?= results/reproduce/$(SCALE)
HTML ?= build/html
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
export PYTHONHASHSEED := 0

ifdef PY
  RUN := $(PY) -m
  LINT := lint-imports
  ENV :=
else
  RUN := $(BIN)/python -m
  LINT := $(BIN)/lint-imports
  ENV := $(STAMP)
endif

.PHONY: all test reproduce render html bench lock clean-venv cluster-demo

all: test

# The venv is (re)built whenever pyproject.toml or requirements.lock is newer than the last
# install: first the locked versions, then lstm97 itself without resolving anything again.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# First the import layers (pyproject.toml's [tool.importlinter], docs/architecture.md). Each pytest
# runs in two worker processes (pytest-xdist); nbval keeps a notebook's cells together.
test: $(ENV)
	$(LINT)
	$(RUN) pytest -n 2 --dist worksteal tests
	$(RUN) pytest -n 2 --dist loadfile --nbval-lax -p no:cacheprovider $(NOTEBOOKS)

# The notebook targets call lstm97/notebooks.py; its docstring lists the conventions every notebook
# follows (one `parameters` cell whose defaults are what `render` uses, nbval tags instead of
# comments, a scale statement first, normalised storage). tests/test_notebooks.py checks them.
#
# Print the plan (per notebook, the trials missing from $(RESULTS) and their estimated time), train
# them through one queue of lane groups and single trials with one progress bar (resumable), then
# execute each notebook into $(RESULTS)/notebooks, each written to a temporary file and moved into
# place. Changes no tracked file.
reproduce: $(ENV)
	$(RUN) lstm97.notebooks reproduce --scale $(SCALE) --results "$(RESULTS)" \
	  --scheduler "$(SCHEDULER)" $(NOTEBOOKS)

# The only target that rewrites the committed notebooks: re-execute them from the committed records
# in data/results (paper scale, no training), stored normalised, then the README's results block.
# With unchanged records it changes no byte.
render: $(ENV)
	$(RUN) lstm97.notebooks render $(NOTEBOOKS)
	$(RUN) lstm97 readme

# The report as static pages in $(HTML) (git-ignored), readable offline (lstm97/html.py): an index
# (the README's report part, the notebooks, the documents), every notebook of NOTEBOOKS_DIR and
# every docs/*.md. NOTEBOOKS_DIR=results/reproduce/smoke/notebooks shows a make reproduce run.
NOTEBOOKS_DIR ?= notebooks
html: $(ENV)
	$(RUN) lstm97.notebooks html --out "$(HTML)" \
	  $(or $(sort $(wildcard $(NOTEBOOKS_DIR)/[0-9]*.ipynb)),$(error no notebooks in $(NOTEBOOKS_DIR)))

# A real Dask cluster on this machine: a scheduler and 2 single-thread workers as separate
# processes on 127.0.0.1, then `make reproduce` through it (each worker takes the next lane group
# or single trial from one Dask queue, longest first). Records and notebooks go to $(DEMO); the cluster stops
# when the run ends. Prints the wall time. DEMO_SCALE=paper for the real thing.
DEMO_SCALE ?= smoke
DEMO ?= results/cluster-demo/$(DEMO_SCALE)
cluster-demo: $(ENV)
	mkdir -p "$(DEMO)"
	$(RUN) distributed.cli.dask_scheduler --host 127.0.0.1 --port 8786 --no-dashboard \
	  > "$(DEMO)/scheduler.log" 2>&1 & s=$$!; \
	$(RUN) distributed.cli.dask_worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1 --no-dashboard \
	  > "$(DEMO)/workers.log" 2>&1 & w=$$!; \
	trap 'kill $$w $$s 2>/dev/null' EXIT; sleep 5; t0=$$(date +%s); \
	$(MAKE) --no-print-directory reproduce SCALE=$(DEMO_SCALE) SCHEDULER=tcp://127.0.0.1:8786 RESULTS="$(DEMO)" \
	  && echo "cluster-demo: make reproduce SCALE=$(DEMO_SCALE) on 2 Dask workers took $$(( $$(date +%s) - t0 )) s"

# Steps per second: NumPy reference vs engine vs PyTorch. The torch column needs the bench
# extra, torch==2.13.0, which from PyPI is a CUDA build (gigabytes). Install the CPU build:
#   .venv/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
bench: $(ENV)
	$(RUN) lstm97.bench

# Refresh requirements.lock: the newest versions pyproject.toml allows, resolved in a fresh
# venv by pip and frozen. Review the diff, then `make test` rebuilds .venv from it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q -e .
	{ echo "# Exact versions of the venv that make builds (pip install -r requirements.lock)."; \
	  echo "# Written by make lock from pyproject.toml with $$(.venv-lock/bin/python -V) on $$(uname -sm)."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf .venv-lock

clean-venv:
	rm -rf $(VENV)
