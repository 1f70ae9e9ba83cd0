"""Fixtures of the quality tests: fixture trees for the scans, the in-process pool for the test runs.

The sample suite the test runs execute is not part of the project's suite.
"""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from background_tasks import inprocess
from background_tasks.services import background_task_cancel
from quality.models import TestRun
from tests.fixtures.celery_worker import wait_until

# The sample suite fails on purpose: only a test run that names it explicitly collects it.
collect_ignore = ["sample_suite"]


@pytest.fixture(autouse=True)
def scan_cache_dir(settings, tmp_path):
    """Scans keep their cache in the test's own folder, not in the system's temporary directory."""
    settings.QUALITY_SCAN_CACHE_DIR = str(tmp_path / "scan-cache")


@pytest.fixture
def pool(settings, transactional_db):
    """Runs go to the real in-process pool (not eagerly), so a test can watch, cancel, or time them out."""
    settings.USE_CELERY = False
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "EAGER": False, "PROGRESS_INTERVAL": 0.5}
    yield settings
    for run in TestRun.objects.active():
        background_task_cancel(job=run, cancelled_by="teardown")
    inprocess.shutdown(wait=True)


def wait_for_end(run: TestRun, *, timeout: float = 120.0) -> TestRun:
    def ended():
        run.refresh_from_db()
        return run.is_terminal()

    wait_until(ended, timeout=timeout, interval=0.2, what=f"test run #{run.pk} to end")
    return run

RULES_DIR = Path(settings.BASE_DIR) / ".architecture-rules"

# The core of a project as the rules see it: the base model and the trigger base.
CORE_FILES = {
    "background_tasks/__init__.py": "",
    "background_tasks/apps.py": "",
    "background_tasks/models.py": '''
        from django.db import models


        class BackgroundTask(models.Model):
            task_type = ""
            queue = "default"
            status = models.CharField(max_length=30, db_index=True)
            created_at = models.DateTimeField(auto_now_add=True)
            started_at = models.DateTimeField(null=True)
            completed_at = models.DateTimeField(null=True)
            triggered_by = models.CharField(max_length=100)
            error_message = models.TextField(null=True)
            progress_percent = models.PositiveSmallIntegerField(default=0)
            progress_message = models.CharField(max_length=255)
            celery_task_id = models.CharField(max_length=255, null=True)
            heartbeat_at = models.DateTimeField(null=True)
            attempts = models.PositiveSmallIntegerField(default=0)

            class Meta:
                abstract = True
    ''',
    "background_tasks/api.py": '''
        from rest_framework.viewsets import GenericViewSet


        class TaskTriggerViewSet(GenericViewSet):
            pass
    ''',
}


class FixtureTree:
    """A repository in a temporary folder: write files, run a validator over it."""

    def __init__(self, root: Path):
        self.root = root
        self.rules = root / ".architecture-rules"
        shutil.copytree(RULES_DIR, self.rules)
        self.write(CORE_FILES)

    def write(self, files: dict[str, str]) -> FixtureTree:
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return self

    def app(self, name: str, files: dict[str, str]) -> FixtureTree:
        """Write an app: its apps.py and __init__.py plus ``files`` (paths inside the app)."""
        return self.write({f"{name}/__init__.py": "", f"{name}/apps.py": "", **{f"{name}/{k}": v for k, v in files.items()}})

    def line_of(self, rel: str, text: str) -> int:
        """Return the line number where ``text`` first appears in a file."""
        for number, line in enumerate((self.root / rel).read_text().splitlines(), start=1):
            if text in line:
                return number
        raise AssertionError(f"{text!r} is not in {rel}")

    def architecture(self):
        from quality.scans.validators import architecture

        return architecture.validate(root=self.root, rules_path=self.rules / architecture.RULES_FILE, report=lambda p, m: None)

    def security(self, cache_dir: Path | None = None):
        from quality.scans.validators import security

        return security.validate(
            root=self.root, rules_path=self.rules / security.RULES_FILE, report=lambda p, m: None,
            settings_module="wizamart.settings", timeout=120, cache_dir=cache_dir,
        )

    def performance(self, cache_dir: Path | None = None):
        from quality.scans.validators import performance

        return performance.validate(
            root=self.root, rules_path=self.rules / performance.RULES_FILE, report=lambda p, m: None, timeout=120, cache_dir=cache_dir
        )


def findings_of(result, rule_id: str) -> list[tuple[str, int]]:
    """Return (file, line) of each finding of one rule."""
    return [(f.file, f.line) for f in result.findings if f.rule_id == rule_id]


@pytest.fixture
def fixture_tree(tmp_path) -> FixtureTree:
    return FixtureTree(tmp_path / "repo")
