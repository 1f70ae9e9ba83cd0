"""docker-compose.yml's bucket: MinIO, a one-shot that creates the private bucket, and every app service pointed at it."""
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker-default", "worker-long-running", "worker-scheduled", "beat", "flower")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]


def depends_on(services: dict, name: str) -> set[str]:
    """Every service ``name`` waits for, directly or through another."""
    found, todo = set(), [name]
    while todo:
        for dependency in services[todo.pop()].get("depends_on", {}):
            if dependency not in found:
                found.add(dependency)
                todo.append(dependency)
    return found


def test_minio_runs_unpublished_with_a_one_shot_that_creates_the_private_bucket(services):
    minio, bucket = services["minio"], services["bucket"]

    assert "ports" not in minio and minio["command"][:2] == ["server", "/data"]
    assert bucket["depends_on"] == {"minio": {"condition": "service_healthy"}}
    script = bucket["command"][0]
    assert 'mc mb --ignore-existing "wz/$$BUCKET"' in script
    assert 'mc anonymous set none "wz/$$BUCKET"' in script  # no public access, ever
    assert "mc admin user add" in script  # the app has its own key, not MinIO's root


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_service_uses_the_bucket_and_no_local_volume(services, name):
    service = services[name]
    env = service["environment"]

    assert env["AWS_STORAGE_BUCKET_NAME"] == "${AWS_STORAGE_BUCKET_NAME:-wizamart-private}"
    assert env["AWS_S3_ENDPOINT_URL"] == "${AWS_S3_ENDPOINT_URL-http://minio:9000}"
    assert env["AWS_SECRET_ACCESS_KEY"].startswith("${AWS_SECRET_ACCESS_KEY")
    assert "volumes" not in service  # files are shared through the bucket, not a host folder
    assert "bucket" in depends_on(services, name)
