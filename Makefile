# o2c — the few verbs people expect. Needs only Python 3.11 and pip on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export SCARF_ANALYTICS := false
export UV_PYTHON_DOWNLOADS := never

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .o2c/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV := .venv
O2C := $(VENV)/bin/o2c

.PHONY: help install demo test lint typecheck unit integration e2e airflow docs stop bench bench-bank clean

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## create the environment from the lock file (uv)

demo: install ## simulate 3 years (36 months of history), run o2c_nightly through Airflow, print the summary
	$(O2C) demo

test: install lint typecheck ## lint, type-check and run the whole test suite
	$(VENV)/bin/pytest

unit: install ## unit tests only
	$(VENV)/bin/pytest tests/unit

integration: install ## integration tests (real PostgreSQL, dbt)
	$(VENV)/bin/pytest tests/integration

e2e: install ## end-to-end tests (real Airflow DAG runs)
	$(VENV)/bin/pytest tests/e2e

lint: install ## ruff and sqlfluff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(O2C) lint-sql

typecheck: install ## mypy on src/
	$(VENV)/bin/mypy src

airflow: install ## start Airflow 3 (standalone) on 127.0.0.1:8080; prints the generated admin password
	$(O2C) warehouse start >/dev/null
	-$(O2C) simulate start-api >/dev/null 2>&1
	@echo "Airflow UI: http://127.0.0.1:$${O2C_AIRFLOW_PORT:-8080}  user: admin  password: generated on first start," \
	      "printed below then, and kept in $${O2C_HOME:-.o2c}/airflow/simple_auth_manager_passwords.json.generated"
	$(O2C) airflow standalone

docs: install ## generate the dbt docs of the marts and serve them on 127.0.0.1:$O2C_DOCS_PORT (8081)
	$(O2C) warehouse start >/dev/null
	$(O2C) docs --serve --port $${O2C_DOCS_PORT:-8081}

stop: install ## stop the simulator's API and the embedded warehouse
	$(O2C) stop

bench: install ## benchmarks (see bench/README.md; the Cosmos one needs `make demo` first)
	$(VENV)/bin/python bench/publish_incremental.py
	$(VENV)/bin/python bench/dbt_cosmos_vs_build.py
	$(VENV)/bin/python bench/bank_parse.py

bench-bank: install ## bank file parsers: entries/s and peak memory, 100k and 1M entries (~10 min; QUICK=1: ~2 min)
	$(VENV)/bin/python bench/bank_parse.py $(if $(QUICK),--quick)

clean: ## remove the environment and all local state (warehouse data included)
	-$(O2C) stop
	rm -rf $(VENV) .o2c
