# Wizamart background tasks. `make run` serves the app; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CELERY := $(VENV)/bin/celery
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wizamart
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
HOST ?= 127.0.0.1
PORT ?= 8000
# Where collectstatic puts the files WhiteNoise serves (the settings read the same variable).
STATIC_ROOT ?= $(CURDIR)/staticfiles
# The fake Letzshop API `make run` starts for the demo's order imports (an LETZSHOP_API_URL of yours wins).
FAKE_LETZSHOP_PORT ?= 8765
FAKE_LETZSHOP_ARGS ?= --latency-ms 300 --fault-rate 0.05
LETZSHOP_API_URL ?= http://127.0.0.1:$(FAKE_LETZSHOP_PORT)/graphql
STATIC_SOURCES := $(shell find . \( -path ./$(VENV) -o -path ./staticfiles -o -path ./.git \) -prune -o -path '*/static/*' -type f -print 2>/dev/null)

.PHONY: venv venv-dev static run fake-letzshop migrate demo test test-postgres test-sqlite services celery-worker celery-beat celery-dev flower bench bench-polling lint

## What running needs (requirements.txt); the test and benchmark tools come with venv-dev.
venv: $(VENV)/.installed-runtime
venv-dev: $(VENV)/.installed-dev

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

## Collect the static files WhiteNoise serves, as the Docker image does (again only when a source changed).
static: $(STATIC_ROOT)/.collected

$(STATIC_ROOT)/.collected: $(VENV)/.installed-runtime $(STATIC_SOURCES)
	STATIC_ROOT=$(STATIC_ROOT) $(PY) manage.py collectstatic --noinput --verbosity 0
	touch $@

migrate: venv
	$(PY) manage.py migrate --noinput

## Demo vendors, products and subscriptions, one finished job of each type, and the admin login.
demo: migrate
	$(PY) manage.py load_demo_data
	$(PY) manage.py load_demo_jobs
	$(PY) manage.py ensure_admin

## Set up and serve the app on SQLite with in-process jobs (no Redis needed); static files as in production.
## Beside it, the fake Letzshop API on loopback, which the demo's order imports read (stopped with the server).
run: static demo
	@echo "Open http://$(HOST):$(PORT)/admin/ and log in with the admin login above;"
	@echo "the Background tasks page lists the demo's jobs. Order imports read $(LETZSHOP_API_URL)."
	$(PY) manage.py fake_letzshop --port $(FAKE_LETZSHOP_PORT) $(FAKE_LETZSHOP_ARGS) & fake=$$!; \
	trap 'kill $$fake 2>/dev/null' EXIT INT TERM; \
	LETZSHOP_API_URL=$(LETZSHOP_API_URL) STATIC_ROOT=$(STATIC_ROOT) $(PY) manage.py runserver $(HOST):$(PORT)

## The fake Letzshop API alone, in the foreground (the demo's vendors and keys; see docs/order-import.md).
fake-letzshop: venv
	$(PY) manage.py fake_letzshop --port $(FAKE_LETZSHOP_PORT) $(FAKE_LETZSHOP_ARGS)

## Set up and run the whole suite: on PostgreSQL (with Redis and real Celery workers), then on SQLite.
test: venv-dev services test-postgres test-sqlite

services:
	bash scripts/ensure-test-services.sh

test-postgres: venv-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: venv-dev
	DATABASE_URL=sqlite:///$(CURDIR)/test-sqlite.db REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not celery_worker and not postgres and not browser" $(PYTEST_ARGS)

## Celery processes (USE_CELERY=true in the environment of the web process too).
celery-worker: venv
	USE_CELERY=true $(CELERY) -A wizamart worker -Q default,long_running,scheduled --concurrency 2 --loglevel INFO

celery-beat: venv
	USE_CELERY=true $(CELERY) -A wizamart beat --scheduler django_celery_beat.schedulers:DatabaseScheduler --loglevel INFO

celery-dev: venv
	USE_CELERY=true $(CELERY) -A wizamart worker -B -Q default,long_running,scheduled --concurrency 2 --scheduler django_celery_beat.schedulers:DatabaseScheduler --loglevel INFO

flower: venv
	@test -n "$$FLOWER_PASSWORD" || (echo "Set FLOWER_PASSWORD: Flower can run tasks and stop workers, it never runs without a password." && exit 1)
	$(CELERY) -A wizamart flower --port=5555 --basic-auth=admin:$$FLOWER_PASSWORD

bench: venv-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/job_overhead.py $(BENCH_ARGS)

## Status polls under load (locust, headless) against gunicorn + Celery workers + PostgreSQL, while jobs run.
bench-polling: venv-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/polling_load.py $(BENCH_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check .
