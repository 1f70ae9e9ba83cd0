"""What a test run's job and its pytest plugin share: the environment names, the report property, database identity.

It imports neither pytest nor Django, so the web process loads it without the test tools installed.
"""
from __future__ import annotations

import os

PROGRESS_ENV = "WIZAMART_TEST_RUN_PROGRESS"
LIVE_DATABASES_ENV = "WIZAMART_TEST_RUN_LIVE_DATABASES"
NODE_ID_PROPERTY = "nodeid"
DEFAULT_PORTS = {"postgresql": "5432", "mysql": "3306"}

# pytest's words for a test's outcome and the plugin's session phases (not job statuses).
PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"
XFAILED = "xfailed"
XPASSED = "xpassed"
BAD_OUTCOMES = (FAILED, ERROR)
PHASE_RUNNING = "running"
PHASE_FINISHED = "finished"


def database_identity(vendor: str, settings_dict: dict, name) -> tuple[str, str, str, str]:
    """Return (vendor, host, port, name): what makes two settings point at the same database."""
    name = str(name or "")
    if vendor == "sqlite":
        return (vendor, "", "", os.path.realpath(name) if name and not name.startswith(":memory:") else name)
    host = settings_dict.get("HOST") or "localhost"
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    port = str(settings_dict.get("PORT") or DEFAULT_PORTS.get(vendor, ""))
    return (vendor, host, port, name)
