"""The project scans itself clean: the architecture rules hold over this repository."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from quality.scans.validators import architecture


def test_the_architecture_validator_finds_no_error_in_this_repository():
    root = Path(settings.BASE_DIR)
    result = architecture.validate(root=root, rules_path=root / ".architecture-rules" / architecture.RULES_FILE, report=lambda p, m: None)

    errors = [f"{f.rule_id} {f.file}:{f.line} {f.message}" for f in result.findings if f.severity == "error"]
    assert result.files_scanned > 100
    assert errors == []


def test_the_self_scan_sees_every_job_model_of_the_project():
    """The clean result is not an empty scan: the rules reach every job model the app registry knows."""
    from background_tasks.registry import task_models
    from quality.scans.validators.base import SourceTree
    from quality.scans.validators.index import ProjectIndex

    root = Path(settings.BASE_DIR)
    index = ProjectIndex(SourceTree(root, exclude=["**/migrations/**"]))
    seen = {info.name for info in index.classes.values() if index.inherits(info, "background_tasks.models.BackgroundTask")}
    assert {model.__name__ for model in task_models().values()} <= seen
