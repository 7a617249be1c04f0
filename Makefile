# `make run`: the embedded default (SQLite, in-process cache) with the demo catalog, the web server
# and one job worker beside it (`manage.py run_embedded`; see docs/operations.md).
# `make test`: the whole suite; uses PostgreSQL/Redis from DATABASE_URL/REDIS_URL, or on their
# default local ports when they answer there.
# `make test-browser`: only the browser tests (needs Debian's chromium; they skip without it).
# `make lint`: ruff (lint and format) and mypy over the apps, as CI runs them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_SIZE ?= 20000

.PHONY: run test test-browser install lint format bench-search bench-import clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_catalog --size $(DEMO_SIZE)
	$(BIN)/python manage.py ensure_admin
	@echo "Encore on http://127.0.0.1:8000  (search page: /  admin and job console: /admin/  API docs: /api/docs/  search API: /api/songs/search/?q=queen); Ctrl-C stops the server and its job worker"
	EMBEDDED_WORKER=1 $(BIN)/python manage.py run_embedded 127.0.0.1:8000

test: install
	$(BIN)/pytest -n 2

test-browser: install
	$(BIN)/pytest -m browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-search: install
	$(BIN)/python bench/search.py

bench-import: install
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache db.sqlite3 db.sqlite3-* .broker
