# Wizamart background tasks. `make run` serves the app; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
CELERY := $(VENV)/bin/celery
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wizamart
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run migrate demo test test-postgres test-sqlite services celery-worker celery-beat celery-dev flower bench lint
.PHONY: bench-polling

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo_data
	$(PY) manage.py ensure_admin

## Set up and serve the app on SQLite with in-process jobs (no Redis needed).
run: demo
	@echo "Open http://$(HOST):$(PORT)/admin/ and log in with the admin login above."
	$(PY) manage.py runserver $(HOST):$(PORT)

## Set up and run the whole suite: on PostgreSQL (with Redis and real Celery workers), then on SQLite.
test: venv services test-postgres test-sqlite

services:
	bash scripts/ensure-test-services.sh

test-postgres: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: venv
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

bench: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/job_overhead.py $(BENCH_ARGS)

## Status polls under load (locust, headless) against gunicorn + Celery workers + PostgreSQL, while jobs run.
bench-polling: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/polling_load.py $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
