# lstm97: two commands do everything on a machine that has python3.
#   make reproduce   run every notebook through papermill (SCALE=paper|smoke, SCHEDULER=host:port)
#   make test        run every test (pytest, and nbval on the recorded notebook outputs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= paper
SCHEDULER ?=
# RESULTS is relative to notebooks/ (papermill runs there)
RESULTS ?= ../results/reproduce
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
export PYTHONHASHSEED := 0

.PHONY: all test reproduce render bench clean-venv

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

# Retrain every trial into $(RESULTS) (resumable) and execute each notebook in place.
reproduce: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb (scale=$(SCALE))"; \
	  $(BIN)/papermill --cwd notebooks $$nb $$nb -p scale $(SCALE) -p results "$(RESULTS)" \
	    -p scheduler "$(SCHEDULER)" || exit 1; \
	done

# Re-render the notebooks and the README's results from the committed trial records
# (fast; no training).
render: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
	  $(BIN)/papermill --cwd notebooks $$nb $$nb -p scale paper -p results ../data/results \
	    -p train False || exit 1; \
	done
	$(BIN)/python -m lstm97 readme

bench: $(STAMP)
	$(BIN)/python -m lstm97.bench

clean-venv:
	rm -rf $(VENV)
