"""docker-compose.yml needs no variable to be read (`docker compose up -d redis` on a fresh clone), yet
every service that needs a secret still refuses to start without it.

Compose interpolates every value of the whole file when it reads it, before it picks the services to
start: a `${VAR:?message}` anywhere stops `docker compose up -d redis` too. The file is read here by
podman-compose, an implementation of the Compose specification that needs no engine
(`podman-compose --dry-run config`, like `docker compose config`), from a copy of the file alone,
as on a fresh clone (no `.env`) and with an empty environment.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PODMAN_COMPOSE = Path(sys.executable).parent / "podman-compose"
SECRETS = {
    "SECRET_KEY": "s" * 50,
    "POSTGRES_PASSWORD": "pg-secret",
    "FLOWER_PASSWORD": "flower-secret",
    "MINIO_ROOT_PASSWORD": "minio-secret",
    "AWS_SECRET_ACCESS_KEY": "bucket-secret",
}


def compose_config(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Read ``project``'s compose file as `compose config` does, with exactly ``env`` set."""
    return subprocess.run(
        [str(PODMAN_COMPOSE), "--dry-run", "config"],
        cwd=project,
        env={"PATH": os.environ["PATH"], "HOME": str(project), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def fresh_clone(tmp_path) -> Path:
    """A folder holding docker-compose.yml and nothing else (no .env)."""
    shutil.copy(REPO_ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    return tmp_path


def services(project: Path, env: dict[str, str]) -> dict:
    """Return the interpolated services of ``project``'s compose file (the environments as strings)."""
    result = compose_config(project, env)
    assert result.returncode == 0, result.stderr[-2000:]
    found = yaml.safe_load(result.stdout)["services"]
    for service in found.values():
        service["environment"] = {key: str(value) for key, value in (service.get("environment") or {}).items()}
    return found


def test_a_required_variable_anywhere_stops_reading_the_whole_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  redis:\n    image: redis:7\n"
        "  app:\n    image: app\n    environment:\n      SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY}\n"
    )

    refused = compose_config(tmp_path, {})

    assert refused.returncode != 0
    assert "required variable SECRET_KEY is missing a value: set SECRET_KEY" in refused.stderr
    assert compose_config(tmp_path, {"SECRET_KEY": "x"}).returncode == 0


def test_the_file_is_read_with_no_variables_set(fresh_clone):
    """What `docker compose up -d redis` does first on a fresh clone: read the whole file, no variables."""
    redis = services(fresh_clone, {})["redis"]

    assert redis["image"].startswith("redis:")
    assert redis["command"] == ["redis-server", "--appendonly", "yes"]


def test_secrets_given_reach_the_services(fresh_clone):
    found = services(fresh_clone, SECRETS)

    assert found["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"
    for name in ("migrate", "web", "worker-default", "worker-long-running", "worker-scheduled", "beat", "flower"):
        env = found[name]["environment"]
        assert env["SECRET_KEY"] == "s" * 50, name
        assert env["DATABASE_URL"].startswith("postgres://wizamart:pg-secret@postgres:5432/wizamart"), name
        assert env["FLOWER_PASSWORD"] == "flower-secret", name
        assert env["AWS_SECRET_ACCESS_KEY"] == "bucket-secret", name
        assert set(env["REQUIRED_ENV"].split(",")) == {"SECRET_KEY", "POSTGRES_PASSWORD", "AWS_SECRET_ACCESS_KEY"}, name
    assert found["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == "minio-secret"
    assert found["bucket"]["environment"]["APP_SECRET"] == "bucket-secret"


def _start_django(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the project's settings with exactly ``env`` (and a PATH), as an app container starts."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "wizamart.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("service", ["migrate", "web", "worker-default", "beat"])
def test_an_app_service_without_its_secrets_refuses_to_start(fresh_clone, service):
    refused = _start_django(services(fresh_clone, {})[service]["environment"])

    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY, POSTGRES_PASSWORD, AWS_SECRET_ACCESS_KEY" in refused.stderr


def test_an_app_service_with_its_secrets_starts(fresh_clone):
    started = _start_django(services(fresh_clone, SECRETS)["web"]["environment"])

    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def test_flower_without_its_password_refuses_to_start(fresh_clone):
    flower = services(fresh_clone, {})["flower"]
    assert flower["command"][:2] == ["sh", "-c"]

    # The shell checks the password before `exec celery`: nothing else runs.
    refused = subprocess.run(
        flower["command"], env={"PATH": os.environ["PATH"], **flower["environment"]}, capture_output=True, text=True, timeout=30
    )

    assert refused.returncode != 0
    assert "FLOWER_PASSWORD is required" in refused.stderr


def test_postgres_gets_an_empty_password_its_image_refuses(fresh_clone):
    # The postgres image will not initialise a database with an empty POSTGRES_PASSWORD (unless told
    # to trust every client, which the file never does).
    postgres = services(fresh_clone, {})["postgres"]["environment"]

    assert postgres["POSTGRES_PASSWORD"] == ""
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres


def test_the_bucket_set_up_without_its_secrets_refuses_to_run(fresh_clone):
    bucket = services(fresh_clone, {})["bucket"]
    script = bucket["command"][0]
    # The set-up's first lines, before any `mc` call: its shell checks the secrets and stops.
    checks = "\n".join(line for line in script.splitlines() if not line.strip().startswith("mc "))

    refused = subprocess.run(
        ["sh", "-c", checks], env={"PATH": os.environ["PATH"], **bucket["environment"]}, capture_output=True, text=True, timeout=30
    )

    assert refused.returncode != 0
    assert "set MINIO_ROOT_PASSWORD" in refused.stderr
