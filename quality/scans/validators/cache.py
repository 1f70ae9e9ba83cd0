"""Findings of the per-file project rules kept across scans: an unchanged file is neither parsed nor walked.

One JSON file per validator and scanned root holds, for each file the validator read, the digest of
its text (with its size and modification time, so an unchanged file is not even read) and the
findings the project rules made of it. The file also names the rule set it was
made with (``fingerprint``: the rules file's content, the validators' code, Python's version); a
scan with another rule set ignores it and writes its own. A scan keeps the entries of unchanged
files, recomputes the others, writes only the files it read (deleted files drop out), and writes by
rename, so two scans at once never leave a half-written file. Anything unreadable in it is ignored.
ruff keeps its own cache (``--cache-dir``), keyed on its version and settings.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import astuple, fields
from functools import cache
from pathlib import Path

from .base import SEVERITIES, Finding, Report, SourceTree, ValidatorFailed, as_list

logger = logging.getLogger(__name__)
FORMAT = 2
# A modification time this recent is not trusted to tell a file unchanged (the clock's resolution).
RACY_SECONDS = 2.0
_FIELDS = [f.name for f in fields(Finding)]


@cache
def code_version() -> str:
    """A digest of the validators' own code: a change to any of them makes every cached finding stale."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def rules_fingerprint(validator: str, document: dict) -> str:
    """The rule set a validator's findings were made with: its rules file as read, the code, Python."""
    content = json.dumps(document, sort_keys=True, default=str)
    parts = [str(FORMAT), validator, content, code_version(), sys.version]
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _finding(row) -> Finding | None:
    """A cached finding, or None when the row is not one (a damaged or foreign cache)."""
    if not isinstance(row, list) or len(row) != len(_FIELDS):
        return None
    finding = Finding(**dict(zip(_FIELDS, row, strict=True)))
    if not all(isinstance(getattr(finding, name), str) for name in _FIELDS if name != "line"):
        return None
    if type(finding.line) is not int or finding.severity not in SEVERITIES:
        return None
    return finding


class FindingsCache:
    """The cached findings of one validator over one root; ``folder=None`` caches nothing."""

    def __init__(self, folder: Path | None, *, root: Path, validator: str, fingerprint: str):
        self.fingerprint = fingerprint
        self.path = None
        if folder is not None:
            name = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
            self.path = Path(folder) / f"{validator}-{name}.json"
        self._old = self._load()
        self._new: dict[str, dict] = {}
        self.hits = 0

    def _load(self) -> dict:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("fingerprint") != self.fingerprint or not isinstance(data.get("files"), dict):
            return {}
        return data["files"]

    def unchanged(self, rel: str, stat: tuple[int, int] | None) -> tuple[str, list[Finding]] | None:
        """The digest and findings of a file whose size and modification time are those recorded, else None."""
        entry = self._old.get(rel)
        if stat is None or not isinstance(entry, dict) or entry.get("stat") != list(stat):
            return None
        found = self._findings(rel, entry)
        return None if found is None else (entry.get("digest"), found)

    def get(self, rel: str, digest: str) -> list[Finding] | None:
        """The findings of a file whose text has this digest, or None when they must be computed."""
        entry = self._old.get(rel)
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        return self._findings(rel, entry)

    def _findings(self, rel: str, entry: dict) -> list[Finding] | None:
        rows = entry.get("findings")
        if not isinstance(rows, list) or not isinstance(entry.get("digest"), str):
            return None
        found = [_finding(row) for row in rows]
        if any(f is None or f.file != rel for f in found):
            return None
        self.hits += 1
        return found

    def put(self, rel: str, digest: str, findings: Iterable[Finding], stat: tuple[int, int] | None = None) -> None:
        """Keep a file's findings by the digest of its text (and by its size and modification time, when given)."""
        self._new[rel] = {"digest": digest, "stat": list(stat) if stat else None, "findings": [list(astuple(f)) for f in findings]}

    def save(self) -> None:
        """Write the entries of this scan's files (atomically); a cache that cannot be written only costs time."""
        if self.path is None or self._new == self._old:
            return  # nothing to keep, or nothing changed
        data = json.dumps({"fingerprint": self.fingerprint, "files": self._new}, separators=(",", ":"))
        temporary = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(temporary, self.path)
        except OSError as exc:
            logger.warning("The code-quality cache %s could not be written: %s", self.path, exc)
            if temporary is not None:
                with suppress(OSError):
                    os.unlink(temporary)

def cached_findings(
    tree: SourceTree, files: list[str], compute: Callable[[str], list[Finding]], findings_cache: FindingsCache
) -> list[Finding]:
    """Every file's findings: from the cache when the file is unchanged, else ``compute(rel)`` (which parses it).

    A file is unchanged when its size and modification time are those recorded (then it is not even
    read), or else when its text has the recorded digest. A modification time is recorded only once
    it is RACY_SECONDS old, so a file written twice within the clock's resolution is never taken
    for unchanged by its time alone.
    """
    trusted_before = time.time_ns() - int(RACY_SECONDS * 1e9)
    found: list[Finding] = []
    for rel in files:
        stat = tree.listing.get(rel)
        known = findings_cache.unchanged(rel, stat)
        if known is not None:
            digest, file_findings = known
        else:
            digest = text_digest(tree.source(rel))
            file_findings = findings_cache.get(rel, digest)
            if file_findings is None:
                file_findings = compute(rel)
        findings_cache.put(rel, digest, file_findings, stat if stat and stat[1] < trusted_before else None)
        found += file_findings
    findings_cache.save()
    return found


# A validator's per-file work: (tree, its rules, the files each rule applies to, a file) -> findings.
FileFindings = Callable[[SourceTree, list[dict], dict[str, set[str]], str], list[Finding]]


def project_rules_findings(
    *, validator: str, root: Path, document: dict, session, known_checks: Iterable[str], file_findings: FileFindings,
    cache_dir: Path | None, report: Report, label: str,
) -> tuple[list[Finding], int]:
    """Apply a validator's own rules (``document[validator]["rules"]``, each naming one of
    ``known_checks``) to the files they apply to, each unchanged file's findings from the cache;
    return the findings and how many files the rules cover."""
    rules = (document.get(validator) or {}).get("rules") or []
    known = list(known_checks)
    for rule in rules:  # refused before any file is read
        if not isinstance(rule, dict) or "id" not in rule:
            raise ValidatorFailed(f"code_quality.yaml: every {validator} rule needs an id and a check (got {rule!r:.80})")
        if rule.get("check") not in known:
            raise ValidatorFailed(f"Rule {rule.get('id')}: unknown check {rule.get('check')!r}; known: {', '.join(known)}")
    tree = SourceTree(root, exclude=as_list(document.get("exclude")), parsed=session.parsed)
    chosen = {rule["id"]: set(tree.select(rule.get("applies_to"), rule.get("exclude"))) for rule in rules}
    files = sorted(set().union(*chosen.values()) if chosen else ())
    report(5, f"{label} over {len(files)} files")
    kept = FindingsCache(cache_dir, root=session.root, validator=validator, fingerprint=rules_fingerprint(validator, document))
    return cached_findings(tree, files, lambda rel: file_findings(tree, rules, chosen, rel), kept), len(files)
