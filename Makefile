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
  ENV :=
else
  RUN := $(BIN)/python -m
  ENV := $(STAMP)
endif

.PHONY: all test reproduce render html bench lock clean-venv

all: test

# The venv is (re)built whenever pyproject.toml or requirements.lock is newer than the last
# install: first the locked versions, then lstm97 itself without resolving anything again.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

test: $(ENV)
	$(RUN) pytest tests
	$(RUN) pytest --nbval-lax -p no:cacheprovider $(NOTEBOOKS)

# The notebook targets call lstm97/notebooks.py; its docstring lists the conventions every notebook
# follows (one `parameters` cell whose defaults are what `render` uses, nbval tags instead of
# comments, a scale statement first, normalised storage). tests/test_notebooks.py checks them.
#
# Retrain every trial missing from $(RESULTS) (resumable) and execute each notebook into
# $(RESULTS)/notebooks, each written to a temporary file and moved into place. Changes no tracked file.
reproduce: $(ENV)
	$(RUN) lstm97.notebooks reproduce --scale $(SCALE) --results "$(RESULTS)" \
	  --scheduler "$(SCHEDULER)" $(NOTEBOOKS)

# The only target that rewrites the committed notebooks: re-execute them from the committed records
# in data/results (paper scale, no training), stored normalised, then the README's results block.
# With unchanged records it changes no byte.
render: $(ENV)
	$(RUN) lstm97.notebooks render $(NOTEBOOKS)
	$(RUN) lstm97 readme

# Static HTML of the committed notebooks, with an index page, in $(HTML) (git-ignored).
html: $(ENV)
	$(RUN) lstm97.notebooks html --out "$(HTML)" $(NOTEBOOKS)

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
