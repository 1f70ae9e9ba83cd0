"""Schemathesis runs every operation of the OpenAPI schema with every check against the live server."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from tests.factories import StaffFactory, VendorFactory
from wizamart.celery import app as celery_app

# Real PostgreSQL, as in production; the live server needs a committed database.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SEED = 20261204
MAX_EXAMPLES = 20
RUN_TIMEOUT = 600  # seconds: the whole run, however the machine is loaded
VENDOR_CODES = ["probe-shop", "probe-market"]
# A "test-path" must exist under tests/: these do (the test-run sample suite).
# A "column-mapping" is a mapping the import accepts (every one the schema allows needs id, title and price).
COLUMN_MAPPINGS = [{"sku": "id", "name": "title", "price": "price"}, {"A": "id", "B": "title", "C": "price", "D": ""}]
TEST_PATHS = ["tests/quality/sample_suite/passing", "tests/quality/sample_suite/failing/test_failing.py::test_raises"]


def existing_vendors(node):
    """The schema as this test's database reads it: a "vendor-code" is one of the vendors the test made."""
    if isinstance(node, dict):
        if node.get("format") == "test-path":
            return {**{k: v for k, v in node.items() if k not in ("format", "pattern")}, "enum": TEST_PATHS}
        if node.get("format") == "column-mapping":
            as_text = node.get("type") == "string"
            examples = [json.dumps(m) if as_text else m for m in COLUMN_MAPPINGS]
            return {"type": node["type"], "description": node.get("description", ""), "enum": examples}
        if node.get("format") == "vendor-code":
            codes = [*VENDOR_CODES, None] if node.get("nullable") else VENDOR_CODES
            return {**{k: v for k, v in node.items() if k not in ("format", "pattern")}, "enum": codes}
        return {key: existing_vendors(value) for key, value in node.items()}
    if isinstance(node, list):
        return [existing_vendors(item) for item in node]
    return node


@pytest.fixture
def queued_not_run(settings):
    """Jobs are queued on the real Redis and never run (no worker): the run is about the HTTP contract."""
    settings.USE_CELERY = True
    yield
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in ("default", "long_running", "scheduled"):
            channel.queue_purge(queue)


def test_schemathesis_finds_no_failure(live_server, queued_not_run, tmp_path):
    for code in VENDOR_CODES:
        VendorFactory(code=code, letzshop_api_key=f"key-{code}")  # order imports from the API need a key
    token = Token.objects.create(user=StaffFactory()).key
    auth = f"Authorization: Token {token}"
    schema = requests.get(
        f"{live_server.url}/api/v1/schema", headers={"Authorization": f"Token {token}", "Accept": "application/json"}, timeout=30
    )
    assert schema.status_code == 200
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(existing_vendors(schema.json())))
    assert "vendor-code" in schema.text
    assert "column-mapping" in schema.text
    operations = sum(len(methods) for methods in schema.json()["paths"].values())
    assert operations >= 11

    command = [
        str(Path(sys.executable).with_name("st")), "run", str(schema_file), "--url", live_server.url, "-H", auth,
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED), "--generation-deterministic", "--workers", "1",
        "--request-timeout", "30", "--no-color",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT)

    output = run.stdout + run.stderr
    assert f"Tested: {operations}" in output, output[-3000:]
    assert run.returncode == 0, output[-6000:]
