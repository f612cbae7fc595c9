# disagg: two commands for a newcomer.
#   make run    set up (first time) and run the main job on the built-in default
#   make test   set up (first time) and run the test suite
# Everything installs into .venv from PyPI; nothing needs to be on PATH but python3, a C++ compiler and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup run test test-slow verilog lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	bash scripts/setup_system.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/disagg run

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

test-slow: setup
	$(BIN)/python -m pytest -n $(JOBS) -m slow

verilog: setup
	$(BIN)/disagg verilog

lint: setup
	$(BIN)/disagg lint

clean:
	rm -rf build
