# eventrail: `make run` serves on SQLite; `make test` runs every gate.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint typecheck format bench bench-quick bench-attack bench-prune bench-audit bench-layouts bench-writes

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled at install (uv does not by default), so a command does not
# recompile the stack from source each time it starts when the environment
# forbids writing bytecode at import (PYTHONDONTWRITEBYTECODE).
install: $(UV)
	$(UV) sync --frozen --no-dev --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m compileall -q src

install-dev: $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m compileall -q src

run: install
	$(BIN)/eventrail migrate
	$(BIN)/eventrail demo --if-empty --base-url http://$(HOST):$(PORT)
	$(BIN)/eventrail serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/ruff check src tests migrations bench

typecheck: install-dev
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

test: lint typecheck
	$(BIN)/pytest

# The benchmark harness (bench/README.md): 1M rows and a 10-minute memory burst;
# bench-quick: 100k rows and short runs (under three minutes).
bench: install-dev
	$(BIN)/python -m bench.run --scale 1000000 --soak 600

bench-quick: install-dev
	$(BIN)/python -m bench.run --scale 100000 --quick

# Another org's read while one org attacks (bench/README.md, "Under attack"):
# 5 s windows, 3 rounds, about five minutes per database.
bench-attack: install-dev
	$(BIN)/python -m bench.attack

# Pruning cost per batch at 1M and 10M rows (bench/README.md, "Pruning").
bench-prune: install-dev
	$(BIN)/python -m bench.prune

# Audited writes per second with and without the hash chain (bench/README.md,
# "Audit hash chain").
bench-audit: install-dev
	$(BIN)/python -m bench.audit_chain

# Three layouts on one PostgreSQL: together, split, two servers behind haproxy
# (bench/README.md, "Layouts"): 3 rounds of 10 s each.
bench-layouts: install-dev
	$(BIN)/python -m bench.layouts --rounds 3 --seconds 10

# Audited writes against a Django + DRF + django-auditlog peer (bench/README.md,
# "Audited writes against Django"): 3 interleaved rounds of 10 s per scenario.
bench-writes: install-dev
	$(BIN)/python -m bench.writes
