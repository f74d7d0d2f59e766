# Mamori: the only commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ./data
PYTEST_ARGS ?=
WORKERS ?= 2

.PHONY: help install demo test test-fast test-slow check fmt lock bench clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml setup.py src/mamori/slo/_scan.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv with the locked dependencies

demo: $(STAMP) ## run Mamori on SQLite in ./data with the demo organisation
	MAMORI_DATA_DIR=$(DATA) MAMORI_SECRET_KEY=$${MAMORI_SECRET_KEY:-demo-secret-not-for-production} \
	MAMORI_SESSION_COOKIE_SECURE=false $(BIN)/mamori demo --host 127.0.0.1 --port $${PORT:-8080}

test: $(STAMP) ## run every test (SQLite; PostgreSQL too when MAMORI_TEST_DATABASE_URL is set)
	$(BIN)/pytest -n $(WORKERS) $(PYTEST_ARGS)

test-fast: $(STAMP) ## the tests without the slow end-to-end ones
	$(BIN)/pytest -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) ## only the slow end-to-end tests (real processes, servers, browser)
	$(BIN)/pytest -n $(WORKERS) -m slow $(PYTEST_ARGS)

check: $(STAMP) ## format check, lint, types, import rules
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## format and fix what ruff can
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

lock: ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

bench: $(STAMP) ## run the benchmarks (see benchmarks/README.md)
	$(BIN)/python -m benchmarks

clean: ## remove the virtualenv and demo data
	rm -rf $(VENV) $(DATA) build
	find src -name "*.so" -delete
