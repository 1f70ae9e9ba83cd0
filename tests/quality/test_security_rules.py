"""Security rules over fixture trees: the project's own rules, ruff's bandit rules and Django's deploy checks."""
from __future__ import annotations

import pytest

from .conftest import findings_of

CASES = {
    "SEC-001": (
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(cmd, shell=True)\n",
        "import subprocess\n\n\ndef run(path):\n    return subprocess.run(['ls', path], shell=False)\n",
        5,
    ),
    "SEC-002": (
        "import pickle\nimport yaml\n\n\ndef load(data, text):\n    return pickle.loads(data), yaml.load(text, Loader=yaml.Loader)\n",
        "import json\nimport yaml\n\n\ndef load(data, text):\n    return json.loads(data), yaml.load(text, Loader=yaml.SafeLoader)\n",
        6,
    ),
    "SEC-003": (
        "from django.db import connection\n\n\ndef find(sku):\n    with connection.cursor() as c:\n        c.execute(f\"SELECT * FROM product WHERE sku = '{sku}'\")\n",
        "from django.db import connection\n\nTABLE = 'product'\n\n\ndef find(sku):\n    with connection.cursor() as c:\n        c.execute(f'SELECT * FROM {TABLE} WHERE sku = %s', [sku])\n",
        6,
    ),
    "SEC-004": (
        "from django.utils.safestring import mark_safe\n\n\ndef label(name):\n    return mark_safe('<b>' + name + '</b>')\n",
        "from django.utils.html import format_html\nfrom django.utils.safestring import mark_safe\n\nICON = mark_safe('<i></i>')\n\n\ndef label(name):\n    return format_html('<b>{}</b>', name)\n",
        5,
    ),
    "SEC-005": (
        "from django.views.decorators.csrf import csrf_exempt\n\n\n@csrf_exempt\ndef hook(request):\n    return None\n",
        "def hook(request):\n    return None\n",
        4,
    ),
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_project_security_rule_finds_the_violation_at_its_line(fixture_tree, rule_id):
    bad, _good, line = CASES[rule_id]
    fixture_tree.app("jobs", {"services.py": bad})
    lines = findings_of(fixture_tree.security(), rule_id)
    assert lines and set(lines) == {("jobs/services.py", line)}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_project_security_rule_leaves_the_safe_version_alone(fixture_tree, rule_id):
    _bad, good, _line = CASES[rule_id]
    fixture_tree.app("jobs", {"services.py": good})
    assert findings_of(fixture_tree.security(), rule_id) == []


def test_ruff_bandit_findings_come_through_with_file_line_and_severity(fixture_tree):
    fixture_tree.app("jobs", {"services.py": "import random\n\n\ndef token():\n    password = 'hunter2'\n    return random.random(), password\n"})
    result = fixture_tree.security()
    found = {f.rule_id: (f.file, f.line, f.severity) for f in result.findings if f.rule_id.startswith("S") and f.rule_id[1:].isdigit()}
    assert found == {"S311": ("jobs/services.py", 6, "warning"), "S105": ("jobs/services.py", 5, "error")}


def test_deploy_checks_run_only_where_there_is_a_manage_py(fixture_tree):
    fixture_tree.app("jobs", {"services.py": "X = 1\n"})
    assert not [f for f in fixture_tree.security().findings if f.rule_id.startswith("security.")]


def test_deploy_checks_of_this_project_report_the_production_settings():
    """``check --deploy`` runs on this repository with production-like settings, in its own process."""
    from pathlib import Path

    from django.conf import settings

    from quality.scans.validators.security import deploy_findings

    root = Path(settings.BASE_DIR)
    findings = deploy_findings(root=root, config={"prefixes": ["security."]}, settings_module="wizamart.settings", timeout=120)
    assert findings, "the production settings leave HSTS and secure cookies to the proxy: check --deploy says so"
    assert {f.file for f in findings} == {"wizamart/settings.py"}
    assert all(f.rule_id.startswith("security.W") and f.severity == "warning" for f in findings)


def test_deploy_check_environment_is_minimal_and_production_like():
    from quality.scans.validators.security import deploy_check_env

    env = deploy_check_env("wizamart.settings")
    assert set(env) == {"PATH", "LANG", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}
    assert env["DEBUG"] == "false" and len(env["SECRET_KEY"]) >= 50


def test_a_deploy_check_finding_points_at_the_setting_it_names(tmp_path):
    from quality.scans.validators.security import _setting_line

    settings_file = tmp_path / "settings.py"
    settings_file.write_text('MIDDLEWARE = ["x"]\nSESSION_COOKIE_SECURE = False\n')
    assert _setting_line(settings_file, "SESSION_COOKIE_SECURE is not set to True.") == 2
    assert _setting_line(settings_file, "You have 'x' in your MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE to True.") == 0
