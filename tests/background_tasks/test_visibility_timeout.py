"""The broker's visibility timeout is its own setting, apart from the time limits, with a safe default."""
import json
import os
import subprocess
import sys

from tests.fixtures.celery_worker import REPO_ROOT

SHOW_CONF = (
    "import django; django.setup(); from celery import current_app as app; import json; "
    "print(json.dumps([app.conf.broker_transport_options['visibility_timeout'], "
    "app.conf.result_backend_transport_options['visibility_timeout'], app.conf.task_time_limit]))"
)


def run(argv, **env):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "wizamart.settings", "USE_CELERY": "true", **env}
    for name in ("BROKER_VISIBILITY_TIMEOUT", "LONGEST_JOB_SECONDS"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(argv, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)


def celery_conf(**env):
    """Return (broker visibility timeout, result backend visibility timeout, hard time limit) as configured."""
    done = run([sys.executable, "-c", SHOW_CONF], **env)
    assert done.returncode == 0, done.stderr
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def test_default_visibility_timeout_is_above_the_default_time_limit():
    visibility, result_visibility, limit = celery_conf()

    assert visibility == result_visibility == 5 * 3600
    assert visibility > limit == 4 * 3600


def test_visibility_timeout_is_set_without_touching_the_time_limits():
    assert celery_conf(BROKER_VISIBILITY_TIMEOUT="900") == (900, 900, 4 * 3600)
    assert celery_conf(LONGEST_JOB_SECONDS="600") == (5 * 3600, 5 * 3600, 600)


def test_system_check_warns_when_redelivery_would_come_inside_the_time_limit():
    short = run([sys.executable, "manage.py", "check"], BROKER_VISIBILITY_TIMEOUT="600")
    safe = run([sys.executable, "manage.py", "check"])

    assert "background_tasks.W001" in short.stderr + short.stdout
    assert "visibility timeout (600s) is not above the task time limit (14400s)" in short.stderr + short.stdout
    assert "background_tasks.W001" not in safe.stderr + safe.stdout
