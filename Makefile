# Samverkan: `make run` starts everything, `make test` runs the whole suite on the real stack.
# Both set up what they need first: virtual environment, dependencies, Kafka jars, PostgreSQL.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: setup browser run demo test test-unit test-integration test-e2e chaos chaos-small bench bench-quick lint schemas clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

## setup: virtual environment, dependencies, Kafka jars and PostgreSQL binaries
setup: $(STAMP)
	$(PY) -m deploy prepare

## browser: Debian's Chromium for the web interface tests (apt-get, once)
browser: $(STAMP)
	$(PY) -m deploy.browser

## run: start Kafka, PostgreSQL, topics, databases and the services; Ctrl-C stops everything
run: setup
	$(PY) -m deploy run

## demo: play the five handoff flows against the running services (starts them if needed)
demo: setup
	$(PY) -m deploy demo

## test: the whole suite (unit, integration, e2e) on a real broker and database
test: setup browser lint
	$(PY) -m pytest $(PYTEST_ARGS)

## test-unit: the quick layer, no broker and no database
test-unit: $(STAMP)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

test-e2e: setup browser
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

## chaos: the fault-injection suite at full size, 10,000 referrals (build/chaos/summary.json)
chaos: setup
	$(PY) -m chaos

## chaos-small: the tests marked chaos, among them the small variant (500 referrals)
chaos-small: setup
	$(PY) -m pytest -m chaos $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@rm -f $(VENV)/.bench-installed-* && touch $@

## bench: benchmarks on a fresh local stack, ~15 min (build/bench/results.json and .png)
bench: setup $(BENCH_STAMP)
	$(PY) -m bench

## bench-quick: the same in ~3 min: a few seconds per rate, 100k audit entries
bench-quick: setup $(BENCH_STAMP)
	$(PY) -m bench --quick

## lint: ruff (lint and format), mypy (strict) and the layer contracts between packages
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contracts services deploy chaos bench
	$(VENV)/bin/lint-imports --no-cache

## schemas: regenerate contracts/schemas and contracts/asyncapi.json (refuses breaking changes)
schemas: $(STAMP)
	$(PY) -m contracts generate

clean:
	rm -rf .run build .pytest_cache .mypy_cache .ruff_cache
