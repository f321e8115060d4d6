# Samverkan: `make run` starts everything, `make test` runs the whole suite on the real stack.
# Both set up what they need first: virtual environment, dependencies, Kafka jars, PostgreSQL.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: setup run demo test test-unit test-integration test-e2e lint schemas clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

## setup: virtual environment, dependencies, Kafka jars and PostgreSQL binaries
setup: $(STAMP)
	$(PY) -m deploy prepare

## run: start Kafka, PostgreSQL, topics, databases and the services; Ctrl-C stops everything
run: setup
	$(PY) -m deploy run

## demo: play the five handoff flows against the running services (starts them if needed)
demo: setup
	$(PY) -m deploy demo

## test: the whole suite (unit, integration, e2e) on a real broker and database
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

## test-unit: the quick layer, no broker and no database
test-unit: $(STAMP)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

test-e2e: setup
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

## lint: ruff (lint and format) and mypy, strict
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contracts services deploy

## schemas: regenerate contracts/schemas and contracts/asyncapi.json (refuses breaking changes)
schemas: $(STAMP)
	$(PY) -m contracts generate

clean:
	rm -rf .run build .pytest_cache .mypy_cache .ruff_cache
