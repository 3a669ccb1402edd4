# The habits of this project, one target each. `make run` and `make test` set everything up.
# Python 3.11, 3.12 or 3.13: the first found, unless given (`make test PYTHON=python3.13 VENV=.venv-3.13`).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test processes (pytest-xdist); each has PostgreSQL and Redis databases of its own.
PYTEST_WORKERS ?= 2

.PHONY: install run test lint format typecheck check bench migrate clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install pinned dependencies

run: install ## the demo: API on :8000, paper broker on :8001, SQLite under ./var
	$(BIN)/order-service demo

test: install ## the whole suite on the embedded default (PostgreSQL/Redis tiers when configured)
	$(BIN)/pytest --cov --cov-report=term -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

check: lint typecheck test ## what CI runs

bench: install ## order path vs the SDK direct; paper broker vs a bare server; pacing; chaos; sync cost; reconcile; crash; books; events; instruments; risk checks
	$(BIN)/python -m benchmarks.order_path
	$(BIN)/python -m benchmarks.paper_broker
	$(BIN)/python -m benchmarks.pacing
	$(BIN)/python -m benchmarks.chaos
	$(BIN)/python -m benchmarks.sync_cost
	$(BIN)/python -m benchmarks.reconcile
	$(BIN)/python -m benchmarks.crash
	$(BIN)/python -m benchmarks.books
	$(BIN)/python -m benchmarks.events
	$(BIN)/python -m benchmarks.risk
	$(BIN)/python -m benchmarks.instruments

migrate: install
	$(BIN)/order-service migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
