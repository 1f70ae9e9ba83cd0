"""What every validator shares: findings, the source tree (parsed once), glob matching and the rules files."""
from __future__ import annotations

import ast
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import yaml

SEVERITIES = ("error", "warning", "info")
# Never scanned, whatever a rules file says: environments, caches, build output.
ALWAYS_EXCLUDED = (".git/**", ".venv/**", "**/node_modules/**", "**/__pycache__/**", "staticfiles/**", "test-artifacts/**")
SNIPPET_MAX = 200

Report = Callable[[int, str], None]
# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# A line may carry a decided exception to a rule, with its reason: ``# architecture: allow BG-003 (why)``.
ALLOW_COMMENT = re.compile(r"#\s*architecture:\s*allow\s+([A-Z]+-\d+(?:\s*,\s*[A-Z]+-\d+)*)")


class ValidatorFailed(Exception):
    """A validator could not run (unparsable file, broken rules file, missing tool); the message says why."""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    file: str
    line: int
    message: str
    snippet: str = ""
    rule_name: str = ""


def finding_order(finding: Finding) -> tuple:
    """A total order of findings (by file and line first), so a scan's list never depends on how it was made."""
    return (finding.file, finding.line, finding.rule_id, finding.message, finding.severity, finding.snippet, finding.rule_name)


@dataclass
class ValidatorResult:
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0


@cache
def glob_regex(pattern: str) -> re.Pattern:
    """Translate a path glob (``**`` spans folders, ``*`` does not) to a regex over a relative posix path."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@cache
def globs_regex(patterns: tuple[str, ...]) -> re.Pattern | None:
    """One regex matching a path that any of the globs matches (None for no glob)."""
    return re.compile("|".join(f"(?:{glob_regex(p).pattern})" for p in patterns)) if patterns else None


def path_matches(path: str, patterns: Iterable[str]) -> bool:
    regex = globs_regex(tuple(patterns))
    return regex is not None and regex.match(path) is not None


def python_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every Python file under the root but the always-excluded folders: its size and modification time (ns).

    The folders of ALWAYS_EXCLUDED (each pattern ends in ``/**``) are not entered; symlinked folders
    are not followed.
    """
    found: dict[str, tuple[int, int]] = {}
    folders = [("", str(root))]
    while folders:
        prefix, folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if not path_matches(rel + "/", ALWAYS_EXCLUDED):
                    folders.append((rel + "/", entry.path))
            elif entry.name.endswith(".py") and entry.is_file():
                stat = entry.stat()
                found[rel] = (stat.st_size, stat.st_mtime_ns)
    return found


def load_rules(path: Path) -> dict:
    """Read a rules file; a missing or malformed file is a readable failure.

    The document is shared by every scan of the same text in this process: read it, never change it.
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ValidatorFailed(f"The rules file {path.name} is missing") from None
    return _parse_rules(text, path.name)


@lru_cache(maxsize=16)
def _parse_rules(text: bytes, name: str) -> dict:
    """The document of a rules file's text, parsed once per process and text (every scan reads the file)."""
    try:
        data = yaml.load(text.decode("utf-8"), Loader=SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValidatorFailed(f"The rules file {name} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValidatorFailed(f"The rules file {name} must hold a mapping")
    return data


class ParsedFiles:
    """Sources, syntax trees and node lists of a root's files by relative path: what trees may share."""

    def __init__(self):
        # Validators running side by side take turns to parse, so no file is parsed twice.
        self.lock = threading.RLock()
        self.sources: dict[str, str] = {}
        self.trees: dict[str, ast.Module] = {}
        self.nodes: dict[str, list[ast.AST]] = {}
        self.derived: dict[tuple[str, str], object] = {}
        # The root's Python files with their size and modification time, when the session listed them.
        self.listing: dict[str, tuple[int, int]] | None = None


class SourceTree:
    """The Python files under a root, each read and parsed at most once (once per ``parsed`` when shared)."""

    def __init__(self, root: Path, *, exclude: Iterable[str] = (), parsed: ParsedFiles | None = None):
        self.root = Path(root).resolve()
        self.exclude = [*ALWAYS_EXCLUDED, *exclude]
        parsed = parsed or ParsedFiles()
        self._sources = parsed.sources
        self._trees = parsed.trees
        self._nodes = parsed.nodes
        self._lock = parsed.lock
        self._derived = parsed.derived
        self.listing = parsed.listing if parsed.listing is not None else python_files(self.root)
        self._files: list[str] | None = None

    def files(self) -> list[str]:
        """Return every Python file's path relative to the root (posix), sorted."""
        if self._files is None:
            skip = globs_regex(tuple(self.exclude))
            self._files = sorted(rel for rel in self.listing if not skip.match(rel))
        return self._files

    def select(self, applies_to=None, exclude=None) -> list[str]:
        return list(_select(tuple(self.files()), tuple(as_list(applies_to) or ["**/*.py"]), tuple(as_list(exclude))))

    def source(self, rel: str) -> str:
        if rel not in self._sources:
            try:
                self._sources[rel] = (self.root / rel).read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ValidatorFailed(f"{rel} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        return self._sources[rel]

    def tree(self, rel: str) -> ast.Module:
        if rel not in self._trees:
            with self._lock:
                if rel not in self._trees:
                    try:
                        self._trees[rel] = ast.parse(self.source(rel), filename=rel)
                    except SyntaxError as exc:
                        raise ValidatorFailed(f"Could not parse {rel}, line {exc.lineno}: {exc.msg}") from None
        return self._trees[rel]

    def walk(self, rel: str) -> list[ast.AST]:
        """Return every node of a file (``ast.walk`` order), walked once however many rules ask."""
        if rel not in self._nodes:
            with self._lock:
                if rel not in self._nodes:
                    self._nodes[rel] = walk(self.tree(rel))
        return self._nodes[rel]

    def derived(self, rel: str, name: str, compute: Callable[[list[ast.AST]], object]):
        """Return ``compute(walk(rel))``, computed once per file and name (validators sharing the tree share it)."""
        key = (rel, name)
        if key not in self._derived:
            self._derived[key] = compute(self.walk(rel))
        return self._derived[key]

    def parse_all(self, files: Iterable[str] | None = None) -> None:
        """Parse every file up front so a broken one fails the scan before any rule runs."""
        for rel in self.files() if files is None else files:
            self.tree(rel)

    def snippet(self, rel: str, line: int) -> str:
        try:
            text = self.source(rel).splitlines()[line - 1].strip()
        except (IndexError, ValidatorFailed):
            return ""
        return text if len(text) <= SNIPPET_MAX else text[: SNIPPET_MAX - 1] + "…"

    def allows(self, finding: Finding) -> bool:
        """Whether the finding's line says ``# architecture: allow <rule id> (reason)``, a decided exception."""
        if not finding.line:
            return False
        try:
            text = self.source(finding.file).splitlines()[finding.line - 1]
        except (IndexError, ValidatorFailed):
            return False
        match = ALLOW_COMMENT.search(text)
        return bool(match) and finding.rule_id in re.split(r"[\s,]+", match.group(1).strip())

    def module_name(self, rel: str) -> str:
        """Return the dotted module of a file (``a/b/__init__.py`` is ``a.b``)."""
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def finding(self, rule: dict, rel: str, line: int, message: str) -> Finding:
        return Finding(
            rule_id=str(rule["id"]),
            severity=rule_severity(rule),
            file=rel,
            line=line,
            message=message,
            snippet=self.snippet(rel, line) if line else "",
            rule_name=str(rule.get("name", "")),
        )


@lru_cache(maxsize=256)
def _select(files: tuple[str, ...], include: tuple[str, ...], exclude: tuple[str, ...]) -> tuple[str, ...]:
    """The files one rule reads; the same for every scan of an unchanged file list."""
    chosen, skip = globs_regex(include), globs_regex(exclude)
    return tuple(f for f in files if chosen.match(f) and not (skip and skip.match(f)))


def children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` as a list, without its generators (the scans call it for every node)."""
    found = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found


def walk(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root``, itself first, in ``ast.walk``'s breadth-first order."""
    found = [root]
    position = 0
    while position < len(found):
        found.extend(children(found[position]))
        position += 1
    return found


def rule_severity(rule: dict) -> str:
    severity = str(rule.get("severity", "error"))
    if severity not in SEVERITIES:
        raise ValidatorFailed(f"Rule {rule.get('id')}: severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return severity


def dotted(node: ast.AST) -> str:
    """Return ``a.b.c`` for a Name/Attribute chain, '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def call_name(node: ast.Call) -> str:
    """Return the last name of what a call calls (``x.y.save()`` is ``save``)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""
