# The two commands: `make demo` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench serve clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make demo: install, migrate SQLite, load demo data (idempotent), serve on 127.0.0.1:8000
demo: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_demo
	$(PY) manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  Admin:    http://127.0.0.1:8000/admin/"
	@echo "  API root: http://127.0.0.1:8000/api/v1/"
	@echo "  API docs: http://127.0.0.1:8000/api/docs/"
	@echo "  Health:   http://127.0.0.1:8000/health/"
	@echo ""
	$(PY) manage.py runserver 127.0.0.1:8000

## make test: lint, migrations check, the suite on SQLite, then on PostgreSQL + Redis + a worker
test: $(STAMP)
	bash .ci/test

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## make bench: the benchmarks beside their raw baselines (needs PostgreSQL); see BENCHMARKS.md
bench: $(STAMP)
	bash bench/run

clean:
	rm -rf var/*.sqlite3* var/cache var/test-media
