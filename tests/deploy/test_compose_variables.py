"""docker-compose.yml needs no variable to be read (`docker compose up -d redis` on a fresh clone), yet
every service that needs a secret still refuses to start without it.

Compose interpolates every value of the whole file when it reads it, before it picks the services to
start: a `${VAR:?message}` anywhere stops `docker compose up -d redis` too. `interpolate` below
follows the Compose specification's interpolation rules (values only, `$$` escapes, `${VAR}`,
`$VAR`, `:-`/`-`, `:?`/`?`, `:+`/`+`, nested defaults), as `docker compose config` applies them.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME = r"[_a-zA-Z][_a-zA-Z0-9]*"
SECRETS = {"SECRET_KEY": "s" * 50, "POSTGRES_PASSWORD": "pg-secret", "FLOWER_PASSWORD": "flower-secret"}


class MissingVariable(ValueError):
    """A required variable (`${VAR:?message}` or `${VAR?message}`) has no value."""


def _closing_brace(text: str, start: int) -> int:
    """Return the index of the `}` closing the `{` at ``start`` (defaults may nest `${...}`)."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError(f"invalid interpolation format: unclosed brace in {text!r}")


def _expand(expression: str, env: dict[str, str]) -> str:
    match = re.fullmatch(rf"({NAME})(?:(:?[-?+])(.*))?", expression, re.S)
    if match is None:
        raise ValueError(f"invalid interpolation format: ${{{expression}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    absent = value is None or (operator.startswith(":") and value == "")
    kind = operator[-1]
    if kind == "-":
        return substitute(argument, env) if absent else value
    if kind == "?":
        if absent:
            raise MissingVariable(f"required variable {name} is missing a value: {substitute(argument, env)}")
        return value
    return "" if absent else substitute(argument, env)


def substitute(text: str, env: dict[str, str]) -> str:
    """Interpolate one string value as Compose does."""
    out, index = [], 0
    while index < len(text):
        if text[index] != "$":
            out.append(text[index])
            index += 1
        elif text.startswith("$$", index):
            out.append("$")
            index += 2
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 1)
            out.append(_expand(text[index + 2 : end], env))
            index = end + 1
        elif match := re.compile(NAME).match(text, index + 1):
            out.append(env.get(match.group(), ""))
            index = match.end()
        else:
            raise ValueError(f"invalid interpolation format: {text!r}")
    return "".join(out)


def interpolate(node, env: dict[str, str]):
    """Interpolate every string value of a parsed Compose file (keys are never interpolated)."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    return substitute(node, env) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def compose_source() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_interpolation_follows_the_compose_rules():
    env = {"SET": "value", "EMPTY": ""}

    assert substitute("a${SET}b $SET ${UNSET} $$SET $${SET:?no}", env) == "avalueb value  $SET ${SET:?no}"
    assert substitute("${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-${SET:-x}}", env) == "d  d value"
    assert substitute("${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt}", env) == "alt  alt "
    assert substitute("${EMPTY?fine}", env) == ""
    with pytest.raises(MissingVariable, match="required variable EMPTY is missing a value: set EMPTY"):
        substitute("x ${EMPTY:?set EMPTY}", env)
    with pytest.raises(MissingVariable, match="UNSET"):
        interpolate({"services": {"s": {"environment": {"K": "${UNSET?}"}}}}, env)


def test_the_file_is_read_with_no_variables_set(compose_source):
    """What `docker compose up -d redis` does first on a fresh clone: read the whole file, no variables."""
    config = interpolate(compose_source, {})

    assert config["services"]["redis"]["image"].startswith("redis:")
    assert config["services"]["redis"]["command"] == ["redis-server", "--appendonly", "yes"]


def test_secrets_given_reach_the_services(compose_source):
    services = interpolate(compose_source, SECRETS)["services"]

    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"
    for name in ("migrate", "web", "worker-default", "worker-long-running", "worker-scheduled", "beat", "flower"):
        env = services[name]["environment"]
        assert env["SECRET_KEY"] == "s" * 50, name
        assert env["DATABASE_URL"].startswith("postgres://wizamart:pg-secret@postgres:5432/wizamart"), name
        assert env["FLOWER_PASSWORD"] == "flower-secret", name
        assert set(env["REQUIRED_ENV"].split(",")) == {"SECRET_KEY", "POSTGRES_PASSWORD"}, name


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
def test_an_app_service_without_its_secrets_refuses_to_start(compose_source, service):
    env = interpolate(compose_source, {})["services"][service]["environment"]

    refused = _start_django({key: str(value) for key, value in env.items()})

    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY, POSTGRES_PASSWORD" in refused.stderr


def test_an_app_service_with_its_secrets_starts(compose_source):
    env = interpolate(compose_source, SECRETS)["services"]["web"]["environment"]

    started = _start_django({key: str(value) for key, value in env.items()})

    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def test_flower_without_its_password_refuses_to_start(compose_source):
    flower = interpolate(compose_source, {})["services"]["flower"]
    assert flower["command"][:2] == ["sh", "-c"]

    # The shell checks the password before `exec celery`: nothing else runs.
    refused = subprocess.run(
        flower["command"], env={"PATH": os.environ["PATH"], **flower["environment"]}, capture_output=True, text=True, timeout=30
    )

    assert refused.returncode != 0
    assert "FLOWER_PASSWORD is required" in refused.stderr


def test_postgres_gets_an_empty_password_its_image_refuses(compose_source):
    # The postgres image will not initialise a database with an empty POSTGRES_PASSWORD (unless told
    # to trust every client, which the file never does).
    postgres = interpolate(compose_source, {})["services"]["postgres"]["environment"]

    assert postgres["POSTGRES_PASSWORD"] == ""
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres
