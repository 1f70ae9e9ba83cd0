"""The lint validators' findings cache: an unchanged file is not parsed again, and the findings never differ from a cold scan."""
from __future__ import annotations

import ast
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from quality.scans import conf
from quality.scans.validators import cache as findings_cache
from quality.scans.validators import session as scan_sessions
from quality.scans.validators.base import Finding, SourceTree

JOBS = '''
import random
import subprocess

from django.utils.safestring import mark_safe

from shop.models import Order


def run(command, rows, name):
    subprocess.run(command, shell=True)
    out = []
    for row in rows:
        out.append(row * random.random())
    for order in Order.objects.filter(paid=True):
        order.save()
    return mark_safe(name), out
'''
VIEWS = '''
import pickle

from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def hook(request):
    return pickle.loads(request.body)
'''
CLEAN = "def add(a, b):\n    return a + b\n"


@pytest.fixture(autouse=True)
def cold():
    scan_sessions.forget_sessions()
    yield
    scan_sessions.forget_sessions()


@pytest.fixture
def tree(fixture_tree):
    fixture_tree.app("jobs", {"services.py": JOBS, "views.py": VIEWS, "util.py": CLEAN})
    return fixture_tree


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files ast.parse is given, in order."""
    seen: list[str] = []
    real_parse = ast.parse

    def counting_parse(source, filename="<unknown>", *args, **kwargs):
        seen.append(filename)
        return real_parse(source, filename, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    return seen


def scan(tree, cache_dir: Path | None) -> dict[str, list[Finding]]:
    """Both lint validators, each in a new session (nothing parsed kept in the process)."""
    found = {}
    for name in ("security", "performance"):
        scan_sessions.forget_sessions()
        found[name] = getattr(tree, name)(cache_dir=cache_dir).findings
    return found


def rule_ids(found: dict[str, list[Finding]]) -> set[str]:
    return {f.rule_id for findings in found.values() for f in findings}


def test_a_warm_scan_parses_nothing_and_finds_what_a_cold_scan_finds(tree, tmp_path, parsed):
    uncached = scan(tree, None)
    assert {"SEC-001", "SEC-002", "SEC-004", "SEC-005", "S311", "PERF-D001", "PERF401"} <= rule_ids(uncached)

    cache_dir = tmp_path / "cache"
    assert scan(tree, cache_dir) == uncached  # cold: the cache is written
    assert {p.name.split("-")[0] for p in cache_dir.glob("*.json")} == {"security", "performance"}
    assert (cache_dir / "ruff").is_dir()  # ruff keeps its own cache beside ours, not in the tree
    assert not (tree.root / ".ruff_cache").exists()

    parsed.clear()
    assert scan(tree, cache_dir) == uncached  # warm
    assert parsed == []


def test_only_an_edited_file_is_parsed_again(tree, tmp_path, parsed):
    cache_dir = tmp_path / "cache"
    scan(tree, cache_dir)
    tree.write({"jobs/views.py": VIEWS.replace("@csrf_exempt\n", ""), "jobs/util.py": CLEAN + "\n\nimport os\nos.system('ls')\n"})

    parsed.clear()
    warm = scan(tree, cache_dir)

    assert set(parsed) == {"jobs/views.py", "jobs/util.py"}
    assert warm == scan(tree, None)
    assert "SEC-005" not in rule_ids(warm)
    assert ("jobs/util.py", "SEC-001") in {(f.file, f.rule_id) for f in warm["security"]}


def test_a_changed_rules_file_makes_every_file_parsed_again(tree, tmp_path, parsed):
    cache_dir = tmp_path / "cache"
    scan(tree, cache_dir)
    rules = tree.rules / "code_quality.yaml"
    rules.write_text(rules.read_text().replace("check: mark_safe_computed\n      exclude", "check: mark_safe_computed\n      exclude: ['jobs/**']\n      x_exclude"))

    parsed.clear()
    warm = scan(tree, cache_dir)

    assert {"jobs/services.py", "jobs/views.py", "jobs/util.py"} <= set(parsed)
    assert warm == scan(tree, None)
    assert "SEC-004" not in rule_ids(warm)


def test_a_deleted_file_drops_out_of_the_findings_and_the_cache(tree, tmp_path):
    cache_dir = tmp_path / "cache"
    scan(tree, cache_dir)
    (tree.root / "jobs/views.py").unlink()

    warm = scan(tree, cache_dir)

    assert warm == scan(tree, None)
    assert all(f.file != "jobs/views.py" for findings in warm.values() for f in findings)
    for path in cache_dir.glob("*.json"):
        assert "jobs/views.py" not in json.loads(path.read_text())["files"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: "not json at all",
        lambda text: json.dumps([1, 2, 3]),
        # An entry whose digest matches but whose findings are not findings.
        lambda text: json.dumps(
            {**json.loads(text), "files": {rel: {**e, "findings": [["x"]]} for rel, e in json.loads(text)["files"].items()}}
        ),
        lambda text: json.dumps(
            {**json.loads(text), "files": {rel: {**e, "findings": [[None] * 7]} for rel, e in json.loads(text)["files"].items()}}
        ),
        lambda text: json.dumps({**json.loads(text), "files": {rel: "entry" for rel in json.loads(text)["files"]}}),
    ],
)
def test_a_damaged_cache_is_ignored(tree, tmp_path, damage, parsed):
    cache_dir = tmp_path / "cache"
    uncached = scan(tree, None)
    scan(tree, cache_dir)
    for path in cache_dir.glob("*.json"):
        path.write_text(damage(path.read_text()))

    parsed.clear()
    assert scan(tree, cache_dir) == uncached
    assert "jobs/services.py" in parsed  # recomputed, not read from the damaged file
    parsed.clear()
    assert scan(tree, cache_dir) == uncached  # and written anew
    assert parsed == []


def test_a_cache_folder_that_cannot_be_written_costs_time_not_the_scan(tree, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")

    assert scan(tree, blocked) == scan(tree, None)


def test_two_scans_writing_at_once_leave_a_whole_cache(tmp_path):
    root = tmp_path / "repo"
    finding = Finding(rule_id="SEC-001", severity="error", file="a.py", line=3, message="m", snippet="s", rule_name="n")
    caches = [findings_cache.FindingsCache(tmp_path / "c", root=root, validator="security", fingerprint="f") for _ in range(8)]
    for number, kept in enumerate(caches):
        kept.put("a.py", f"digest-{number}", [finding] * (number + 1))
    threads = [threading.Thread(target=kept.save) for kept in caches for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [p.name for p in (tmp_path / "c").iterdir()] == [caches[0].path.name]  # no temporary file left
    reader = findings_cache.FindingsCache(tmp_path / "c", root=root, validator="security", fingerprint="f")
    digests = [f"digest-{n}" for n in range(8)]
    hits = [reader.get("a.py", d) for d in digests]
    assert sum(1 for hit in hits if hit is not None) == 1
    winner = next(n for n, hit in enumerate(hits) if hit is not None)
    assert hits[winner] == [finding] * (winner + 1)


def test_another_rule_set_does_not_read_the_cache(tmp_path):
    root = tmp_path / "repo"
    finding = Finding(rule_id="SEC-001", severity="error", file="a.py", line=3, message="m")
    kept = findings_cache.FindingsCache(tmp_path, root=root, validator="security", fingerprint="one")
    kept.put("a.py", "d", [finding])
    kept.save()

    assert findings_cache.FindingsCache(tmp_path, root=root, validator="security", fingerprint="one").get("a.py", "d") == [finding]
    assert findings_cache.FindingsCache(tmp_path, root=root, validator="security", fingerprint="two").get("a.py", "d") is None
    assert findings_cache.FindingsCache(tmp_path, root=root, validator="security", fingerprint="one").get("a.py", "e") is None
    rules = {"security": {"rules": [{"id": "SEC-001"}]}}
    changed = {"security": {"rules": [{"id": "SEC-001", "severity": "warning"}]}}
    assert findings_cache.rules_fingerprint("security", rules) != findings_cache.rules_fingerprint("security", changed)
    assert findings_cache.rules_fingerprint("security", rules) != findings_cache.rules_fingerprint("performance", rules)


def test_the_settings_choose_the_cache_folder(settings, tmp_path):
    settings.QUALITY_SCAN_CACHE_DIR = str(tmp_path / "here")
    assert conf.cache_dir() == tmp_path / "here"
    settings.QUALITY_SCAN_CACHE = False
    assert conf.cache_dir() is None
    del settings.QUALITY_SCAN_CACHE, settings.QUALITY_SCAN_CACHE_DIR
    assert conf.cache_dir().parent == Path(tempfile.gettempdir())


@pytest.mark.django_db(transaction=True)
def test_a_scan_job_uses_the_configured_cache_and_still_fails_on_a_broken_file(tree, settings, tmp_path):
    from background_tasks.status import TaskStatus
    from quality.scans.services import code_quality_scan_create

    settings.QUALITY_SCAN_ROOT = str(tree.root)
    settings.QUALITY_SCAN_CACHE_DIR = str(tmp_path / "configured")

    def rows(validator_type):
        scan_sessions.forget_sessions()
        scan = code_quality_scan_create(validator_type=validator_type, triggered_by="cli:test")
        scan.refresh_from_db()
        return scan, list(scan.violations.values_list("rule_id", "severity", "file", "line", "message", "snippet"))

    cold_scan, cold = rows("performance")
    assert cold_scan.status == TaskStatus.COMPLETED, cold_scan.error_message
    assert {"performance", "ruff"} <= {p.name.split("-")[0] for p in (tmp_path / "configured").iterdir()}
    assert rows("performance")[1] == cold
    assert {r[0] for r in cold} >= {"PERF-D001", "PERF401"}

    tree.write({"jobs/util.py": "def broken(:\n    return 1\n"})
    broken, _ = rows("performance")
    assert broken.status == TaskStatus.FAILED
    assert "Could not parse jobs/util.py, line 1" in broken.error_message


def age(tree, seconds: float) -> None:
    """Set every file's modification time ``seconds`` back."""
    when = time.time() - seconds
    for path in tree.root.rglob("*.py"):
        os.utime(path, (when, when))


@pytest.fixture
def read(monkeypatch) -> list[str]:
    """The files the scans read the text of."""
    seen: list[str] = []
    real_source = SourceTree.source

    def counting_source(self, rel):
        seen.append(rel)
        return real_source(self, rel)

    monkeypatch.setattr(SourceTree, "source", counting_source)
    return seen


def test_a_file_whose_size_and_time_are_unchanged_is_not_even_read(tree, tmp_path, read, parsed):
    age(tree, 60)
    cache_dir = tmp_path / "cache"
    uncached = scan(tree, None)
    scan(tree, cache_dir)

    read.clear()
    assert scan(tree, cache_dir) == uncached
    assert read == []

    # Same size, another time: read and compared by digest; the text is the same, so not parsed.
    path = tree.root / "jobs/util.py"
    os.utime(path, (time.time() - 30, time.time() - 30))
    read.clear()
    parsed.clear()
    assert scan(tree, cache_dir) == uncached
    assert set(read) == {"jobs/util.py"}
    assert parsed == []


def test_a_recent_modification_time_is_not_trusted(tree, tmp_path):
    cache_dir = tmp_path / "cache"
    scan(tree, cache_dir)  # the files were written just now
    entries = [e for p in cache_dir.glob("*.json") for e in json.loads(p.read_text())["files"].values()]
    assert entries and all(e["stat"] is None for e in entries)

    age(tree, 60)
    scan(tree, cache_dir)
    entries = [e for p in cache_dir.glob("*.json") for e in json.loads(p.read_text())["files"].values()]
    assert all(isinstance(e["stat"], list) for e in entries)
