# The README's two commands: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
# uv from PATH, else the one pip installed into this Python (`python3 -m uv`).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export PREFECT_LOGGING_SETTINGS_PATH := $(CURDIR)/travelops/logging.yml
export UV_PYTHON := 3.11
# Install compiled bytecode: with PYTHONDONTWRITEBYTECODE set (as on CI) every process would
# otherwise compile Prefect from source again (~7 s of CPU per interpreter here).
export UV_COMPILE_BYTECODE := 1

.PHONY: help setup demo demo-exit test lint format bench clean

help:
	@echo "make demo   set up, run every demo scenario, keep the Prefect UI at http://127.0.0.1:4200"
	@echo "make test   set up, lint, type-check and run the whole test suite"
	@echo "make lint | make bench | make clean"

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv || \
		$(PYTHON) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	$(UV) run python -m compileall -q -j 0 domain db flows tasks blocks sandbox travelops
	@touch $@

setup: .venv/.synced
	$(UV) run travelops db upgrade

demo: setup
	$(UV) run travelops demo

demo-exit: setup
	$(UV) run travelops demo --exit

lint: .venv/.synced
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: .venv/.synced
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

test: lint
	$(UV) run pytest

bench: setup
	$(UV) run travelops bench all

clean:
	rm -rf .travelops demo-report.json .pytest_cache .mypy_cache .ruff_cache
