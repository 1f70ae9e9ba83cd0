"""The security validator: ruff's bandit rules, Django's deploy checks, and the project's own rules."""
from __future__ import annotations

import ast
import os
import re
import secrets
import subprocess  # noqa: S404  (a fixed argv, shell=False)
import sys
from pathlib import Path

from .base import (
    Finding,
    Report,
    SourceTree,
    ValidatorFailed,
    ValidatorResult,
    as_list,
    call_name,
    dotted,
    finding_order,
    load_rules,
)
from .cache import project_rules_findings
from .ruff import lint_run, ruff_findings
from .session import scan_session, start_in_background

RULES_FILE = "code_quality.yaml"
_CHECK_LINE = re.compile(r"^(?P<obj>\S.*?): \((?P<id>[\w.]+)\) (?P<message>.+)$")
_SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9_]{3,}\b")
_SQL_CALLS = {"execute", "executemany", "raw", "RawSQL", "extra"}


def _identifier(node: ast.AST) -> bool:
    """Whether an interpolated value is plainly an identifier: a CONSTANT, or quoted by quote_name."""
    if isinstance(node, ast.Call):
        return call_name(node) in ("quote_name", "Identifier")
    name = dotted(node).rsplit(".", 1)[-1]
    return bool(name) and name.isupper()


def _formatted(node: ast.AST) -> bool:
    """Whether an expression builds a string by formatting (f-string, %, +, .format()) from non-constants."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) and not _identifier(v.value) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr, ast.BinOp)) or isinstance(node.right, ast.JoinedStr)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _shell_true(node: ast.Call) -> bool:
    return any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords)


def _rule_shell(node: ast.Call) -> str:
    name = dotted(node.func)
    if name.startswith("subprocess.") and _shell_true(node):
        return f"{name}(shell=True): pass a fixed argv list with shell=False"
    if name in ("os.system", "os.popen"):
        return f"{name}() runs a shell: use subprocess.run with a fixed argv list"
    return ""


def _rule_deserialize(node: ast.Call) -> str:
    name = dotted(node.func)
    if name.split(".")[0] in ("pickle", "cPickle", "dill", "marshal") and call_name(node) in ("load", "loads", "Unpickler"):
        return f"{name}() executes code from its input: use JSON"
    if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"):
        loader = next((dotted(k.value) for k in node.keywords if k.arg == "Loader"), "")
        if len(node.args) > 1:
            loader = dotted(node.args[1])
        if not loader.endswith(("SafeLoader", "CSafeLoader")) or name == "yaml.unsafe_load":
            return f"{name}() without SafeLoader can build arbitrary objects: use yaml.safe_load"
    return ""


def _rule_raw_sql(node: ast.Call) -> str:
    name = call_name(node)
    if name not in _SQL_CALLS:
        return ""
    if name == "extra":
        candidates = []
        for kw in node.keywords:
            if kw.arg in ("where", "tables"):
                candidates += kw.value.elts if isinstance(kw.value, (ast.List, ast.Tuple)) else [kw.value]
            elif kw.arg == "select" and isinstance(kw.value, ast.Dict):
                candidates += kw.value.values
    else:
        candidates = node.args[:1]
    if any(_formatted(c) for c in candidates):
        return f"SQL built by string formatting in {name}(): pass values as query parameters, quote identifiers with quote_name"
    return ""


def _rule_mark_safe(node: ast.Call) -> str:
    if call_name(node) not in ("mark_safe", "SafeString") or not node.args:
        return ""
    arg = node.args[0]
    if isinstance(arg, ast.Constant):
        return ""
    return f"{call_name(node)}() on a computed value ({ast.unparse(arg)[:60]}): escape it with format_html"


def _rule_csrf_exempt(node: ast.AST) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if dotted(target).rsplit(".", 1)[-1] == "csrf_exempt":
        return "csrf_exempt turns off CSRF protection for this view"
    return ""


PROJECT_RULES = {
    "shell_true": _rule_shell,
    "unsafe_deserialization": _rule_deserialize,
    "raw_sql_formatting": _rule_raw_sql,
    "mark_safe_computed": _rule_mark_safe,
    "csrf_exempt": _rule_csrf_exempt,
}


def _candidates(nodes: list[ast.AST]) -> tuple[list[ast.Call], list[ast.AST]]:
    """A file's calls, and its bare decorators (no call: csrf_exempt is looked at on its own line)."""
    calls = [node for node in nodes if isinstance(node, ast.Call)]
    bare = [
        decorator
        for node in nodes
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for decorator in node.decorator_list
        if not isinstance(decorator, ast.Call)
    ]
    return calls, bare


def file_findings(tree: SourceTree, rules: list[dict], chosen: dict[str, set[str]], rel: str) -> list[Finding]:
    """The project's own ast rules (each names one of PROJECT_RULES as its check) over one file."""
    findings = []
    calls, bare = tree.derived(rel, "security-candidates", _candidates)
    for rule in rules:
        if rel not in chosen[rule["id"]]:
            continue
        check = PROJECT_RULES[rule["check"]]
        for candidate in [*calls, *bare] if check is _rule_csrf_exempt else calls:
            message = check(candidate)
            if message:
                findings.append(tree.finding(rule, rel, candidate.lineno, message))
    return findings


def deploy_check_env(settings_module: str) -> dict[str, str]:
    """A minimal production-like environment: nothing of the caller's but PATH."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "wizamart.example",
        "DATABASE_URL": "sqlite:///:memory:",
    }


def deploy_findings(*, root: Path, config: dict, settings_module: str, timeout: float) -> list[Finding]:
    """Run ``manage.py check --deploy`` in a subprocess and turn its security messages into findings."""
    argv = [sys.executable, "manage.py", "check", "--deploy"]
    try:
        done = subprocess.run(  # noqa: S603
            argv, cwd=root, env=deploy_check_env(settings_module), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ValidatorFailed(f"check --deploy did not finish within {timeout:.0f} s") from None
    prefixes = tuple(as_list(config.get("prefixes")) or ["security."])
    settings_file = settings_module.replace(".", "/") + ".py"
    findings, parsed = [], 0
    for raw in (done.stdout + "\n" + done.stderr).splitlines():
        match = _CHECK_LINE.match(raw.strip())
        if not match:
            continue
        parsed += 1
        if not match["id"].startswith(prefixes):
            continue
        level = "error" if ".E" in match["id"] else "warning"
        findings.append(
            Finding(
                rule_id=match["id"],
                severity=level,
                file=settings_file,
                line=_setting_line(root / settings_file, match["message"]),
                message=match["message"][:1000],
                rule_name="Django deploy check",
            )
        )
    if done.returncode not in (0, 1) or (done.returncode == 1 and not parsed):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ValidatorFailed(f"check --deploy could not run (exit {done.returncode}): {last[:300]}")
    return findings


def _setting_line(path: Path, message: str) -> int:
    """Return the line that sets the setting a check message is about, or 0 when the file does not set it."""
    # The setting at issue is named last ("... in your MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE").
    names = _SETTING_NAME.findall(message)
    if not names:
        return 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    return next((number for number, text in enumerate(lines, start=1) if text.startswith(f"{names[-1]} ")), 0)


def validate(
    *, root: Path, rules_path: Path, report: Report, settings_module: str, timeout: float, cache_dir: Path | None = None
) -> ValidatorResult:
    document = load_rules(rules_path)
    section = document.get("security") or {}
    # ruff starts first (before the files are listed, when no session is current): it runs on the other core.
    lint = lint_run(root=root, document=document, timeout=timeout, cache_dir=cache_dir)
    session = scan_session(root, early=lint)
    ruff = section.get("ruff") or {}
    linted = session.background(*lint)
    # The deploy check runs in its own process while this one applies the project rules.
    deploy = section.get("deploy_check") or {}
    deployed = None
    if deploy.get("enabled", True) and (root / "manage.py").exists():
        deployed = start_in_background(
            lambda: deploy_findings(root=root, config=deploy, settings_module=settings_module, timeout=timeout)
        )
    findings, scanned = project_rules_findings(
        validator="security", root=root, document=document, session=session, known_checks=PROJECT_RULES,
        file_findings=file_findings, cache_dir=cache_dir, report=report, label="Project rules",
    )
    report(40, "ruff bandit rules")
    findings += ruff_findings(
        root=session.root, diagnostics=linted.result(), config=ruff, exclude=as_list(ruff.get("exclude")), rule_name="ruff (bandit)"
    )
    if deployed is not None:
        report(70, "Django deploy checks")
        findings += deployed.result()
    return ValidatorResult(findings=sorted(set(findings), key=finding_order), files_scanned=scanned)
