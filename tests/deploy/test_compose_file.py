"""The production shape as files: docker-compose.yml, the Dockerfile, gunicorn.conf.py and the nginx config agree."""
from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from gunicorn.config import KNOWN_SETTINGS

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO_ROOT / "deploy" / "nginx" / "default.conf"
GUNICORN_COMMAND = ["gunicorn", "-c", "gunicorn.conf.py", "wizamart.wsgi:application"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (REPO_ROOT / "Dockerfile").read_text()


def stages(dockerfile: str) -> dict[str, str]:
    """Return {stage name: its base image} of a multi-stage Dockerfile."""
    return {name: base for base, name in re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)\s*$", dockerfile, re.M | re.I)}


def test_every_service_is_complete(compose):
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "proxy", "beat", "flower"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert "command" in service or "image" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source.startswith((".", "/")) or source in compose["volumes"], f"{name}: undeclared volume {source}"


def test_only_the_proxy_and_flower_are_published(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}

    assert published == {"proxy", "flower"}
    assert compose["services"]["proxy"]["ports"] == ["8000:80"]
    assert compose["services"]["web"]["expose"] == ["8000"]


def test_web_runs_gunicorn_with_the_project_config(compose, dockerfile):
    web = compose["services"]["web"]
    assert web["command"] == GUNICORN_COMMAND
    # The merged environment keeps every app setting and adds the proxy's trust.
    assert web["environment"]["USE_CELERY"] == "true"
    worker_db = compose["services"]["worker-default"]["environment"]["DATABASE_URL"]
    assert web["environment"]["DATABASE_URL"] == worker_db + "?conn_max_age=60&conn_health_checks=true"
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == "*"

    cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.M)
    assert [json.loads(line) for line in cmd] == [GUNICORN_COMMAND]


def test_build_targets_exist_in_the_dockerfile(compose, dockerfile):
    targets = {name: service["build"]["target"] for name, service in compose["services"].items() if "build" in service}
    known = stages(dockerfile)

    assert targets["web"] == "app" and targets["proxy"] == "proxy"
    assert set(targets.values()) <= set(known)
    assert known["proxy"].startswith("nginx:")
    # The proxy image carries the config and the collected static files of the app stage.
    assert "COPY deploy/nginx/default.conf /etc/nginx/conf.d/default.conf" in dockerfile
    assert "COPY --from=app /app/staticfiles /usr/share/nginx/static" in dockerfile
    # `docker build .` (no target) still gives the app image.
    assert dockerfile.rstrip().splitlines()[-1] == "FROM app"


def test_nginx_proxies_to_gunicorns_port_and_serves_static(compose):
    conf = NGINX_CONF.read_text()
    bind = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))["bind"]

    assert re.search(r"server\s+web:(\d+);", conf).group(1) == bind.rsplit(":", 1)[1] == compose["services"]["web"]["expose"][0]
    assert "proxy_pass http://wizamart_web;" in conf
    assert re.search(r"location /static/ \{\s*alias /usr/share/nginx/static/;", conf)
    assert "proxy_request_buffering on;" in conf and "client_header_timeout 10s;" in conf


def test_gunicorn_config_names_only_real_settings():
    """A misspelt setting (``thread = 8``) is silently ignored by gunicorn: catch it here."""
    names = {key for key in runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py")) if not key.startswith("_") and key != "os"}
    known = {setting.name for setting in KNOWN_SETTINGS}

    assert names <= known, names - known
    config = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["threads"] >= 4


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed here (apt-get install nginx-light)")
def test_nginx_accepts_the_config(tmp_path):
    # `web` resolves only inside compose: test the same config against a loopback upstream.
    (tmp_path / "default.conf").write_text(NGINX_CONF.read_text().replace("server web:8000;", "server 127.0.0.1:8000;"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/default.conf;\n}}\n"
    )

    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr


def test_the_job_backend_renicer_runs_beside_postgresql_as_its_user(compose):
    """renice_job_backends must see PostgreSQL's processes and be permitted to lower their priority."""
    service = compose["services"]["job-priority"]
    assert service["command"] == ["python", "manage.py", "renice_job_backends"]
    assert service["pid"] == "service:postgres"
    # The official postgres image (Debian) runs the server as uid 999: the same user may lower its backends.
    assert compose["services"]["postgres"]["image"].split(":")[0] == "postgres"
    assert service["user"].split(":")[0] == "999"
    assert "ports" not in service and "cap_add" not in service
    assert service["environment"]["DATABASE_URL"] == compose["services"]["worker-default"]["environment"]["DATABASE_URL"]


def test_workers_weigh_less_than_the_web_when_the_cpu_is_contended(compose):
    """Containers share the CPU by cgroup weight: a worker's niceness does not reach across containers."""
    services = compose["services"]
    web = services["web"].get("cpu_shares", 1024)
    for name in ("worker-default", "worker-long-running", "worker-scheduled"):
        assert services[name]["cpu_shares"] <= web // 8, name
    assert "cpu_shares" not in services["postgres"] and "cpu_shares" not in services["web"]
