# Two commands do all the set-up on a fresh machine:
#   make demo   - creates .venv, installs, runs the main job on embedded defaults
#   make test   - creates .venv, installs, runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/erp demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check erp_platform sdk_builder code_locations tests benchmarks
	$(BIN)/mypy erp_platform sdk_builder code_locations

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .erp .pytest_cache .mypy_cache .ruff_cache
