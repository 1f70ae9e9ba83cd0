"""API routing: every path answers with and without a trailing slash; the core's URLs stand alone."""
import ast
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

import background_tasks

CORE = Path(background_tasks.__file__).parent


def api_paths(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from api_paths(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern) and regex.startswith("api/v1"):
            yield regex


@pytest.mark.parametrize("regex", sorted(set(api_paths())))
def test_every_api_path_answers_with_and_without_a_slash(regex):
    assert regex.endswith("/?$"), regex
    path = "/" + re.sub(r"\(\?P<\w+>[^)]*\)", "7", regex)[: -len("/?$")]

    assert resolve(path).url_name == resolve(path + "/").url_name


def test_the_api_names_its_routes_as_before():
    from django.urls import reverse

    assert reverse("background-task-detail", kwargs={"job_id": 5}) == "/api/v1/admin/background-tasks/5"
    assert reverse("background-task-unread-count") == "/api/v1/admin/notifications/unread-count"
    assert reverse("product-import-error-report", kwargs={"job_id": 5}) == "/api/v1/imports/products/5/error-report"
    assert reverse("product-export-download", kwargs={"job_id": 5}) == "/api/v1/exports/products/5/download"


@pytest.mark.parametrize("module", sorted(p.name for p in CORE.glob("*.py")))
def test_the_core_imports_nothing_of_the_project_for_its_urls(module):
    tree = ast.parse((CORE / module).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}

    assert not {name for name in imported if name.startswith("wizamart.url")}, module
    if module in {"api.py", "routers.py", "urls.py", "serializers.py", "schema.py", "api_errors.py", "uploads.py", "admin.py"}:
        assert not {name for name in imported if name.split(".")[0] == "wizamart"}, module
