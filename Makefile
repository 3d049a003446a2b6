# lstm97: two commands do everything on a machine that has python3.
#   make reproduce   train, then run every notebook through papermill into results/ (SCALE=paper|smoke,
#                    SCHEDULER=host:port); changes no tracked file
#   make test        run every test (pytest, and nbval on the recorded notebook outputs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= paper
SCHEDULER ?=
# make reproduce: trial records in RESULTS, executed notebooks in RESULTS/notebooks (git-ignored)
RESULTS ?= results/reproduce/$(SCALE)
HTML ?= build/html
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
export PYTHONHASHSEED := 0

.PHONY: all test reproduce render html bench clean-venv

all: test

# The venv is (re)built whenever pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider $(NOTEBOOKS)

# The notebook targets call lstm97/notebooks.py; its docstring lists the conventions every notebook
# follows (one `parameters` cell whose defaults are what `render` uses, nbval tags instead of
# comments, a scale statement first, normalised storage). tests/test_notebooks.py checks them.
#
# Retrain every trial missing from $(RESULTS) (resumable) and execute each notebook into
# $(RESULTS)/notebooks, each written to a temporary file and moved into place. Changes no tracked file.
reproduce: $(STAMP)
	$(BIN)/python -m lstm97.notebooks reproduce --scale $(SCALE) --results "$(RESULTS)" \
	  --scheduler "$(SCHEDULER)" $(NOTEBOOKS)

# The only target that rewrites the committed notebooks: re-execute them from the committed records
# in data/results (paper scale, no training), stored normalised, then the README's results block.
# With unchanged records it changes no byte.
render: $(STAMP)
	$(BIN)/python -m lstm97.notebooks render $(NOTEBOOKS)
	$(BIN)/python -m lstm97 readme

# Static HTML of the committed notebooks, with an index page, in $(HTML) (git-ignored).
html: $(STAMP)
	$(BIN)/python -m lstm97.notebooks html --out "$(HTML)" $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python -m lstm97.bench

clean-venv:
	rm -rf $(VENV)
