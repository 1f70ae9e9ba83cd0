"""The performance validator: ruff's PERF rules and the Django query rules a reviewer would raise."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .base import (
    Finding,
    Report,
    SourceTree,
    ValidatorResult,
    as_list,
    call_name,
    children,
    dotted,
    finding_order,
    load_rules,
)
from .cache import project_rules_findings
from .ruff import lint_run, ruff_findings
from .session import scan_session

RULES_FILE = "code_quality.yaml"
# Methods that return a new queryset whatever they are called on in Django code.
QUERYSET_METHODS = {
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related", "annotate", "only", "defer",
    "select_for_update", "values_list", "none", "reverse",
}
# Methods that return a queryset only when called on one (``dict.values()`` is not a query).
CHAINED_ONLY = {"values", "distinct", "using", "iterator"}
QUERY_CALLS = {"get", "create", "update", "count", "exists", "first", "last", "aggregate", "get_or_create", "update_or_create", "delete", "bulk_create", "bulk_update"}
LOOPS = (ast.For, ast.AsyncFor, ast.While)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _manager_root(node: ast.AST) -> str:
    """Return ``Model`` for an expression built on ``Model.objects``, else ''."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr == "objects":
                return dotted(node.value).rsplit(".", 1)[-1]
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return ""


def is_queryset(node: ast.AST, names: set[str]) -> bool:
    """Whether an expression is (statically) a queryset: ``X.objects...``, a queryset method, a known name."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Attribute):
        return node.attr == "objects"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, receiver = node.func.attr, node.func.value
        if method in QUERYSET_METHODS:
            return True
        return method in CHAINED_ONLY and is_queryset(receiver, names)
    return False


def _queryset_names(own: list[ast.AST]) -> set[str]:
    names: set[str] = set()
    for node in sorted((n for n in own if isinstance(n, ast.Assign)), key=lambda n: n.lineno):
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if is_queryset(node.value, names):
                names.add(node.targets[0].id)
    return names


def _is_query(node: ast.Call, names: set[str]) -> bool:
    if not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr == "save":
        return True
    if node.func.attr in QUERY_CALLS or node.func.attr in QUERYSET_METHODS:
        return is_queryset(node.func.value, names) or bool(_manager_root(node.func.value))
    return False


def _own_by_scope(nodes: list[ast.AST]) -> list[tuple[ast.AST, list[ast.AST]]]:
    """Each scope of a file (the module, then each function) with its own nodes, nested functions left out.

    One pass over the file: a function node belongs to the scope around it, its body to itself.
    """
    module = nodes[0]
    own: dict[ast.AST, list[ast.AST]] = {module: []}
    stack = [(child, module) for child in children(module)]
    while stack:
        node, scope = stack.pop()
        own[scope].append(node)
        if isinstance(node, FUNCTIONS):
            own[node] = []
            scope = node
        stack.extend((child, scope) for child in children(node))
    return list(own.items())


def query_in_loop(tree: SourceTree, rule: dict, rel: str, own: list[ast.AST], names: set[str]) -> Iterator[Finding]:
    for loop in own:
        if isinstance(loop, (ast.For, ast.AsyncFor)) and is_queryset(loop.iter, names):
            lines: set[int] = set()
            for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
                if isinstance(node, ast.Call) and node.lineno not in lines and _is_query(node, names):
                    lines.add(node.lineno)
                    what = "save()" if call_name(node) == "save" else f"a query ({ast.unparse(node.func)[:60]})"
                    yield tree.finding(rule, rel, node.lineno, f"{what} inside a loop over a queryset: one query per row")


def count_in_loop(tree: SourceTree, rule: dict, rel: str, own: list[ast.AST], names: set[str]) -> Iterator[Finding]:
    loop_lines: set[int] = set()
    for loop in own:
        if isinstance(loop, LOOPS):
            for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
                if isinstance(node, ast.Call) and call_name(node) == "count" and isinstance(node.func, ast.Attribute):
                    if is_queryset(node.func.value, names) and node.lineno not in loop_lines:
                        loop_lines.add(node.lineno)
                        yield tree.finding(rule, rel, node.lineno, "queryset.count() inside a loop: count once before it")
    for node in own:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and node.args:
            if is_queryset(node.args[0], names):
                yield tree.finding(rule, rel, node.lineno, "len(queryset) loads every row to count them: use .count()")


def _iterations(own: list[ast.AST]) -> Iterator[ast.AST]:
    for node in own:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            yield node.iter
        elif isinstance(node, ast.comprehension):
            yield node.iter
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple", "set", "sorted") and node.args:
            yield node.args[0]


def iterated_twice(tree: SourceTree, rule: dict, rel: str, own: list[ast.AST], names: set[str]) -> Iterator[Finding]:
    """A queryset name iterated again through a new query (``qs.all()``, ``qs.iterator()``): its cache is not reused."""
    sites: dict[str, list[tuple[int, bool]]] = {}
    for expr in _iterations(own):
        if isinstance(expr, ast.Name) and expr.id in names:
            sites.setdefault(expr.id, []).append((expr.lineno, False))
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and isinstance(expr.func.value, ast.Name):
            if expr.func.value.id in names and expr.func.attr in QUERYSET_METHODS | CHAINED_ONLY:
                sites.setdefault(expr.func.value.id, []).append((expr.lineno, True))
    for name, found in sites.items():
        fresh = sum(1 for _, new_query in found if new_query) + (1 if any(not n for _, n in found) else 0)
        if fresh >= 2:
            line = sorted(found)[1][0]
            yield tree.finding(rule, rel, line, f"The queryset {name} is iterated twice, each a query: evaluate it once into a list")


def missing_iterator(tree: SourceTree, rule: dict, rel: str, own: list[ast.AST], names: set[str]) -> Iterator[Finding]:
    large = set(as_list(rule.get("large_models")))
    for loop in own:
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            continue
        chain = ast.unparse(loop.iter)
        if _manager_root(loop.iter) in large and ".iterator(" not in chain and not isinstance(loop.iter, ast.Subscript):
            yield tree.finding(
                rule, rel, loop.lineno, f"A job loops over {_manager_root(loop.iter)} rows without .iterator(): every row stays in memory"
            )


PROJECT_RULES = {
    "query_in_loop": query_in_loop,
    "count_in_loop": count_in_loop,
    "queryset_iterated_twice": iterated_twice,
    "missing_iterator": missing_iterator,
}


def file_findings(tree: SourceTree, rules: list[dict], chosen: dict[str, set[str]], rel: str) -> list[Finding]:
    """The project's query rules over one file; each scope (module, function) is walked once for all of them."""
    findings = []
    for _scope, own in tree.derived(rel, "performance-scopes", _own_by_scope):
        names = _queryset_names(own)
        for rule in rules:
            if rel in chosen[rule["id"]]:
                findings += PROJECT_RULES[rule["check"]](tree, rule, rel, own, names)
    return findings


def validate(*, root: Path, rules_path: Path, report: Report, timeout: float, cache_dir: Path | None = None) -> ValidatorResult:
    document = load_rules(rules_path)
    section = document.get("performance") or {}
    # ruff starts first (before the files are listed, when no session is current): it runs on the other core.
    lint = lint_run(root=root, document=document, timeout=timeout, cache_dir=cache_dir)
    session = scan_session(root, early=lint)
    ruff = section.get("ruff") or {}
    linted = session.background(*lint)
    findings, scanned = project_rules_findings(
        validator="performance", root=root, document=document, session=session, known_checks=PROJECT_RULES,
        file_findings=file_findings, cache_dir=cache_dir, report=report, label="Django query rules",
    )
    report(60, "ruff PERF rules")
    findings += ruff_findings(
        root=session.root, diagnostics=linted.result(), config=ruff, exclude=as_list(ruff.get("exclude")), rule_name="ruff (perflint)"
    )
    return ValidatorResult(findings=sorted(set(findings), key=finding_order), files_scanned=scanned)
