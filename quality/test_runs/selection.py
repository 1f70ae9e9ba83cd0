"""Which tests a run selects: validated against an allowlist before anything reaches a command line."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings

from .conf import test_run_settings

TESTS_DIR_NAME = "tests"
EXPRESSION_MAX = 200
PATH_MAX = 500
MAXFAIL_MAX = 10_000
# What a node id may add after "::": test names, class names and parameter ids of plain characters.
NODE_PART = re.compile(r"^[\w.\-\[\]]+(?:\[[\w.\-,=+ /:]*\])?$")
PATH_PART = re.compile(r"^[\w.\-]+$")
# A -k/-m expression: names, and/or/not, parentheses, and the characters a parameter id may hold
# (ASCII, as the API schema's pattern says). pytest's own grammar is checked when the run starts.
# It never starts with "-" (it is one argument either way, but it must not even look like an option).
EXPRESSION = re.compile(r"^(?:[A-Za-z0-9_ ()\[\].,=+:/][A-Za-z0-9_ ()\[\].,=+:/-]*)?$")


class SelectionError(ValueError):
    """A selection refused: ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Selection:
    """A validated selection: relative paths or node ids under tests/, and single-argument expressions."""

    paths: list[str] = field(default_factory=list)
    keyword: str = ""
    markers: str = ""
    maxfail: int | None = None

    def pytest_args(self) -> list[str]:
        """Return the selection as pytest arguments: each option with its value in one argument."""
        args = []
        if self.keyword:
            args.append(f"-k={self.keyword}")
        if self.markers:
            args.append(f"-m={self.markers}")
        if self.maxfail:
            args.append(f"--maxfail={self.maxfail}")
        # "--" ends the options: a path can never be read as one (and none starts with "-" anyway).
        return [*args, "--", *(self.paths or [TESTS_DIR_NAME])]

    def describe(self) -> str:
        parts = [", ".join(self.paths) if self.paths else "the whole suite"]
        if self.keyword:
            parts.append(f"-k {self.keyword!r}")
        if self.markers:
            parts.append(f"-m {self.markers!r}")
        if self.maxfail:
            parts.append(f"--maxfail {self.maxfail}")
        return " ".join(parts)


def project_root() -> Path:
    return Path(settings.BASE_DIR).resolve()


def tests_root() -> Path:
    return project_root() / TESTS_DIR_NAME


def clean_path(value: object) -> str:
    """Return a test path or node id as "tests/..."; raise ValueError saying why it is refused."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = value
    if not text.strip():
        raise ValueError("must not be empty")
    if text != text.strip():
        raise ValueError(f'"{text.strip()[:60]}" must not start or end with spaces')
    if len(text) > PATH_MAX:
        raise ValueError(f"is longer than {PATH_MAX} characters")
    if text.startswith("-"):
        raise ValueError(f'"{text[:60]}" looks like an option; give a path under {TESTS_DIR_NAME}/')
    file_part, _, node = text.partition("::")
    posix = PurePosixPath(file_part)
    if "\\" in file_part or posix.is_absolute() or file_part.startswith("~"):
        raise ValueError(f'"{text[:60]}" is not a relative path under {TESTS_DIR_NAME}/')
    parts = [part for part in posix.parts if part != "."]
    if not parts or any(part == ".." or not PATH_PART.match(part) for part in parts):
        raise ValueError(f'"{text[:60]}" is not a plain path under {TESTS_DIR_NAME}/ (letters, digits, "._-" and "/")')
    if parts[0] != TESTS_DIR_NAME:
        parts.insert(0, TESTS_DIR_NAME)
    target = project_root().joinpath(*parts)
    resolved = target.resolve()
    if not resolved.is_relative_to(tests_root()) or not resolved.exists():
        raise ValueError(f'"{text[:60]}" does not exist under {TESTS_DIR_NAME}/')
    relative = "/".join(parts)
    if node:
        if not resolved.is_file() or not all(NODE_PART.match(piece) for piece in node.split("::")):
            raise ValueError(f'"{text[:60]}" is not a node id of a test file (tests/…/test_x.py::test_name)')
        return f"{relative}::{node}"
    return relative


def clean_expression(value: object, *, option: str) -> str:
    """Return a -k/-m expression of allowed characters (one argument of pytest), or raise ValueError."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > EXPRESSION_MAX:
        raise ValueError(f"is longer than {EXPRESSION_MAX} characters")
    if not EXPRESSION.match(value):
        raise ValueError(f"{option}: use names (letters, digits, ._-[]:/=+,) with and, or, not, parentheses and spaces")
    return value.strip()


def clean_maxfail(value: object) -> int | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a whole number")
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if not 1 <= number <= MAXFAIL_MAX:
        raise ValueError(f"must be between 1 and {MAXFAIL_MAX}")
    return number


def selection_clean(*, paths=None, keyword=None, markers=None, maxfail=None) -> Selection:
    """Validate raw inputs into a Selection; raise SelectionError with every field's messages."""
    errors: dict[str, list[str]] = {}
    cleaned_paths: list[str] = []
    if paths is None:
        paths = []
    if isinstance(paths, str) or not isinstance(paths, list | tuple):
        errors["paths"] = ["must be a list of test paths or node ids"]
    elif len(paths) > test_run_settings.MAX_PATHS:
        errors["paths"] = [f"at most {test_run_settings.MAX_PATHS} paths"]
    else:
        for value in paths:
            try:
                cleaned_paths.append(clean_path(value))
            except ValueError as exc:
                errors.setdefault("paths", []).append(str(exc))
    raw = {"keyword": keyword, "markers": markers, "maxfail": maxfail}
    cleaners = {
        "keyword": lambda v: clean_expression(v, option="-k"),
        "markers": lambda v: clean_expression(v, option="-m"),
        "maxfail": clean_maxfail,
    }
    values = {}
    for name, clean in cleaners.items():
        try:
            values[name] = clean(raw[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise SelectionError(errors)
    return Selection(paths=list(dict.fromkeys(cleaned_paths)), **values)
