"""URL helpers: every API path answers with and without a trailing slash."""
import re

from django.urls import re_path

_CONVERTERS = {"int": r"[0-9]+", "str": r"[^/]+", "slug": r"[-a-zA-Z0-9_]+"}


def api_path(route: str, view, name: str):
    """Like path(), but the route matches with or without a trailing slash."""

    def convert(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2)
        return f"(?P<{arg}>{_CONVERTERS[kind]})"

    pattern = re.sub(r"<(\w+):(\w+)>", convert, route.strip("/"))
    return re_path(rf"^{pattern}/?$", view, name=name)


def schema_paths_without_trailing_slash(endpoints, **kwargs):
    """Document each API path once, in its canonical form without the optional trailing slash."""
    return [(path.rstrip("/") or "/", regex, method, view) for path, regex, method, view in endpoints]
