"""The rules file is the validator's input: change it in a copy and the findings change with it."""
from __future__ import annotations

import pytest
import yaml

from .conftest import findings_of
from .test_architecture_rules import GOOD_JOB


def _edit_rules(tree, edit) -> None:
    path = tree.rules / "background_tasks.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _rule(document, rule_id):
    return next(r for r in document["rules"] if r["id"] == rule_id)


def test_a_new_required_field_makes_every_job_model_a_finding(fixture_tree):
    fixture_tree.app("jobs", {"models.py": GOOD_JOB})
    assert findings_of(fixture_tree.architecture(), "BG-001") == []

    _edit_rules(fixture_tree, lambda d: _rule(d, "BG-001")["required_fields"].append("retried_at"))

    result = fixture_tree.architecture()
    assert findings_of(result, "BG-001") == [("jobs/models.py", 6)]
    assert "retried_at" in result.findings[0].message


def test_a_dropped_required_attribute_is_no_longer_checked(fixture_tree):
    fixture_tree.app("jobs", {"models.py": GOOD_JOB.replace('task_type = "good_job"', "")})
    assert findings_of(fixture_tree.architecture(), "BG-001")

    _edit_rules(fixture_tree, lambda d: _rule(d, "BG-001").update(required_class_attributes=["queue"]))

    assert findings_of(fixture_tree.architecture(), "BG-001") == []


def test_a_new_rule_of_a_known_kind_needs_no_code(fixture_tree):
    fixture_tree.app("exports", {"feeds.py": "import requests\n"})
    new_rule = {
        "id": "BG-100", "name": "Exports make no HTTP calls", "severity": "warning",
        "check": "forbidden_imports", "modules": ["exports"], "forbid": ["requests"],
    }
    _edit_rules(fixture_tree, lambda d: d["rules"].append(new_rule))

    result = fixture_tree.architecture()
    assert findings_of(result, "BG-100") == [("exports/feeds.py", 1)]
    assert next(f for f in result.findings if f.rule_id == "BG-100").severity == "warning"


def test_a_severity_change_in_the_file_changes_the_finding(fixture_tree):
    fixture_tree.write({"background_tasks/selectors.py": "import exports\n"})
    _edit_rules(fixture_tree, lambda d: _rule(d, "BG-007").update(severity="info"))
    assert [f.severity for f in fixture_tree.architecture().findings if f.rule_id == "BG-007"] == ["info"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["rules"].append({"id": "BG-101", "check": "no_such_check"}), "unknown check 'no_such_check'"),
        (lambda d: _rule(d, "BG-007").update(severity="fatal"), "severity must be one of"),
        (lambda d: _rule(d, "BG-001").pop("base"), r"BG-001 \(subclass_of\) needs: base"),
    ],
)
def test_a_broken_rules_file_fails_with_a_readable_message(fixture_tree, edit, message):
    from quality.scans.validators import ValidatorFailed

    fixture_tree.write({"background_tasks/selectors.py": "import exports\n"})
    _edit_rules(fixture_tree, edit)
    with pytest.raises(ValidatorFailed, match=message):
        fixture_tree.architecture()
