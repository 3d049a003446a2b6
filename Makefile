# lstm97: two commands do everything on a machine that has python3.
#   make reproduce   run every notebook through papermill (SCALE=paper|smoke, SCHEDULER=host:port)
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
# RESULTS is relative to notebooks/ (papermill runs there)
RESULTS ?= ../results/reproduce
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
export PYTHONHASHSEED := 0

ifdef PY
  RUN := $(PY) -m
  ENV :=
else
  RUN := $(BIN)/python -m
  ENV := $(STAMP)
endif

.PHONY: all test reproduce render bench lock clean-venv

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

# Retrain every trial into $(RESULTS) (resumable) and execute each notebook in place.
reproduce: $(ENV)
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb (scale=$(SCALE))"; \
	  $(RUN) papermill --cwd notebooks $$nb $$nb -p scale $(SCALE) -p results "$(RESULTS)" \
	    -p scheduler "$(SCHEDULER)" || exit 1; \
	done

# Re-render the notebooks and the README's results from the committed trial records
# (fast; no training).
render: $(ENV)
	@for nb in $(NOTEBOOKS); do \
	  $(RUN) papermill --cwd notebooks $$nb $$nb -p scale paper -p results ../data/results \
	    -p train False || exit 1; \
	done
	$(RUN) lstm97 readme

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
