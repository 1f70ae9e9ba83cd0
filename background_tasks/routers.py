"""API routing: routers and paths that answer with and without a trailing slash."""
import re

from django.urls import re_path
from rest_framework.routers import SimpleRouter

_CONVERTERS = {"int": r"[0-9]+", "str": r"[^/]+", "slug": r"[-a-zA-Z0-9_]+"}


class TaskApiRouter(SimpleRouter):
    """A DRF router whose every route matches with or without a trailing slash."""

    def __init__(self):
        super().__init__()
        # SimpleRouter takes only a yes/no for the slash; the routes' regexes take this as is.
        self.trailing_slash = "/?"


def api_path(route: str, view, name: str):
    """Like path(), but the route matches with or without a trailing slash."""

    def convert(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2)
        return f"(?P<{arg}>{_CONVERTERS[kind]})"

    pattern = re.sub(r"<(\w+):(\w+)>", convert, route.strip("/"))
    return re_path(rf"^{pattern}/?$", view, name=name)


def schema_paths_without_trailing_slash(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document each API path once, without the optional slash."""
    return [(path.rstrip("/") or "/", regex, method, view) for path, regex, method, view in endpoints]
