"""The validators of a scan share one ruff run and each parsed file, and keep to their own part of ruff's findings."""
import ast
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from quality.scans.validators import session as scan_sessions
from quality.scans.validators.ruff import rule_selected

SERVICES = "import random\n\n\ndef f(rows):\n    out = []\n    for r in rows:\n        out.append(r * random.random())\n    return out\n"


@pytest.fixture(autouse=True)
def cold():
    scan_sessions.forget_sessions()
    yield
    scan_sessions.forget_sessions()


def ruff_runs(session) -> list[tuple]:
    return [key for key in session._runs if key[0] == "ruff"]


def test_security_and_performance_share_one_ruff_run_and_each_parsed_file(fixture_tree, monkeypatch):
    fixture_tree.app("jobs", {"services.py": SERVICES})
    fixture_tree.write({"tests/test_jobs.py": "def test_it():\n    assert [x for x in [1]]\n"})
    parsed = []
    real_parse = ast.parse

    def counting_parse(source, filename="<unknown>", **kwargs):
        parsed.append(filename)
        return real_parse(source, filename, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)

    security, performance = fixture_tree.security(), fixture_tree.performance()

    session = scan_sessions.scan_session(fixture_tree.root)
    assert len(ruff_runs(session)) == 1
    assert parsed.count("jobs/services.py") == 1  # read by both validators, parsed once
    assert "jobs/services.py" in session.parsed.trees
    # One run, two parts: bandit's S311 for security only, perflint's PERF401 for performance only.
    assert {f.rule_id for f in security.findings} == {"S311"}
    assert {f.rule_id for f in performance.findings} == {"PERF401"}
    # security.ruff excludes tests/**: ruff's S101 there stays out of the security scan.
    assert all(not f.file.startswith("tests/") for f in security.findings)


def test_a_changed_file_starts_a_new_session(fixture_tree):
    fixture_tree.app("jobs", {"services.py": SERVICES})
    fixture_tree.security()
    first = scan_sessions.scan_session(fixture_tree.root)
    assert scan_sessions.scan_session(fixture_tree.root) is first

    fixture_tree.write({"jobs/services.py": SERVICES.replace("random.random()", "2")})

    second = scan_sessions.scan_session(fixture_tree.root)
    assert second is not first
    assert {f.rule_id for f in fixture_tree.security().findings} == set()


def test_a_session_is_dropped_once_it_lingered(fixture_tree, monkeypatch):
    fixture_tree.app("jobs", {"services.py": SERVICES})
    first = scan_sessions.scan_session(fixture_tree.root)
    monkeypatch.setattr(scan_sessions, "LINGER_SECONDS", 0.0)
    assert scan_sessions.scan_session(fixture_tree.root) is not first


@pytest.mark.parametrize(
    ("code", "select", "ignore", "selected"),
    [
        ("S311", ["S"], [], True),
        ("S101", ["S"], ["S101"], False),
        ("S101", ["S101"], ["S"], True),  # the more specific selector wins
        ("S101", ["S1"], ["S1"], False),  # a tie goes to ignore
        ("PERF401", ["S"], [], False),
        ("PERF401", ["ALL"], ["S"], True),
    ],
)
def test_rule_selection_follows_ruff(code, select, ignore, selected):
    assert rule_selected(code, select, ignore) is selected


@pytest.mark.parametrize(
    ("security", "performance", "ignored"),
    [
        ({"select": ["S"], "ignore": ["S101", "S608"]}, {"select": ["PERF"]}, ["S101", "S608"]),
        ({"select": ["S"], "ignore": ["S101"]}, {"select": ["PERF", "S"]}, []),  # performance wants S101
        ({"select": ["S"], "ignore": ["S101"]}, {"select": ["PERF", "S1"], "ignore": ["S10"]}, ["S101"]),
        ({"select": ["S", "S1011"], "ignore": ["S101"]}, {"select": ["PERF"]}, []),  # a more specific select wins
        ({"select": ["S"], "ignore": ["S101"]}, {"select": ["ALL"], "ignore": ["S"]}, ["S101"]),
        ({"select": ["S"], "ignore": ["S101"]}, {"select": ["ALL"]}, []),
    ],
)
def test_the_one_ruff_run_ignores_only_codes_no_validator_selects(security, performance, ignored):
    from quality.scans.validators.ruff import lint_argv

    argv = lint_argv({"security": {"ruff": security}, "performance": {"ruff": performance}})
    assert (argv[argv.index("--ignore") + 1].split(",") if "--ignore" in argv else []) == ignored


def test_ruff_starts_before_the_files_are_listed_when_no_session_is_current(fixture_tree, monkeypatch):
    fixture_tree.app("jobs", {"services.py": SERVICES})
    started = threading.Event()
    waited = []
    real_listing = scan_sessions.fingerprint

    def listing(root):
        waited.append(started.wait(timeout=10))  # the early run was already going
        return real_listing(root)

    monkeypatch.setattr(scan_sessions, "fingerprint", listing)
    session = scan_sessions.scan_session(fixture_tree.root, early=(("early",), lambda: started.set() or "ran"))

    assert waited == [True]
    assert session.background(("early",), lambda: "again").result() == "ran"  # the session adopted it
    again = scan_sessions.scan_session(fixture_tree.root, early=(("other",), lambda: "ran early"))
    assert again is session and "other" not in session._runs  # a current session starts nothing early


def test_validators_side_by_side_find_what_they_find_one_after_the_other(fixture_tree):
    fixture_tree.app("jobs", {"services.py": SERVICES})
    fixture_tree.write({"tests/test_jobs.py": "def test_it():\n    assert [x for x in [1]]\n"})
    alone = (fixture_tree.security().findings, fixture_tree.performance().findings)
    scan_sessions.forget_sessions()

    with ThreadPoolExecutor(max_workers=2) as pool:
        security, performance = pool.submit(fixture_tree.security), pool.submit(fixture_tree.performance)
        side_by_side = (security.result().findings, performance.result().findings)

    assert {f.rule_id for f in alone[0]} == {"S311"} and {f.rule_id for f in alone[1]} == {"PERF401"}
    assert side_by_side == alone
    assert len(ruff_runs(scan_sessions.scan_session(fixture_tree.root))) == 1
