"""The architecture validator: the rules of .architecture-rules/background_tasks.yaml, checked with ``ast``.

Each rule names a ``check`` kind; the kind's parameters come from the rule, so a new rule of a
known kind needs only a new entry in the file.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .base import Finding, Report, SourceTree, ValidatorFailed, ValidatorResult, as_list, call_name, dotted, load_rules
from .index import ClassInfo, ProjectIndex
from .registry_check import registry_findings
from .session import scan_session

RULES_FILE = "background_tasks.yaml"
DJANGO_MODEL = "django.db.models.Model"


@dataclass
class Context:
    tree: SourceTree
    index: ProjectIndex


def _require(rule: dict, *keys: str) -> None:
    missing = [k for k in keys if k not in rule]
    if missing:
        raise ValidatorFailed(f"Rule {rule.get('id', '?')} ({rule.get('check')}) needs: {', '.join(missing)}")


def _classes_in(ctx: Context, rule: dict) -> Iterator[ClassInfo]:
    files = set(ctx.tree.select(rule.get("applies_to"), rule.get("exclude")))
    for info in ctx.index.classes.values():
        if info.file in files:
            yield info


def _is_job(ctx: Context, info: ClassInfo, base: str) -> bool:
    return info.qualname != base and ctx.index.inherits(info, base)


def _non_empty(node: ast.AST | None) -> bool:
    return node is not None and not (isinstance(node, ast.Constant) and node.value in ("", None))


def _status_values(ctx: Context, info: ClassInfo, call: ast.Call) -> list[str]:
    """Return the literal values a status field allows (its choices and default)."""
    values: list[str] = []
    module = ctx.tree.module_name(info.file)
    for kw in call.keywords:
        if kw.arg == "default" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            values.append(kw.value.value)
        if kw.arg != "choices":
            continue
        if isinstance(kw.value, (ast.List, ast.Tuple)):
            values.extend(
                str(item.elts[0].value)
                for item in kw.value.elts
                if isinstance(item, (ast.Tuple, ast.List)) and item.elts and isinstance(item.elts[0], ast.Constant)
            )
        elif isinstance(kw.value, ast.Attribute) and kw.value.attr == "choices":
            enum = _find_enum(ctx, info, module, dotted(kw.value.value))
            if enum is not None:
                values.extend(ctx.index.enum_values(enum))
    return values


def _find_enum(ctx: Context, owner: ClassInfo, module: str, name: str) -> ClassInfo | None:
    nested = ctx.index.classes.get(f"{owner.qualname}.{name}")
    return nested or ctx.index.find_class(ctx.index.resolve(module, name))


def _looks_like_job(ctx: Context, info: ClassInfo, rule: dict) -> str:
    """Return why a model that is not a job looks like one, or ''."""
    if info.unmanaged or not ctx.index.inherits(info, DJANGO_MODEL):
        return ""
    markers = rule.get("looks_like_job") or {}
    for name in as_list(markers.get("fields")):
        if name in info.fields:
            return f"it has a {name} field"
    status = info.fields.get("status")
    if status is not None:
        job_values = set(as_list(markers.get("status_values")))
        found = sorted(set(_status_values(ctx, info, status)) & job_values)
        if found and len(found) >= int(markers.get("min_status_values", 1)):
            return f"its status takes job values ({', '.join(found)})"
    return ""


# --- BG-001 -----------------------------------------------------------------------------------


def check_subclass_of(ctx: Context, rule: dict) -> Iterator[Finding]:
    _require(rule, "base")
    base = rule["base"]
    required = as_list(rule.get("required_fields"))
    attributes = as_list(rule.get("required_class_attributes"))
    short = base.rsplit(".", 1)[-1]
    base_known = base in ctx.index.classes
    for info in _classes_in(ctx, rule):
        if info.is_enum or info.qualname == base:
            continue
        if _is_job(ctx, info, base):
            if info.abstract:
                continue
            fields = ctx.index.all_fields(info)
            missing = [f for f in required if f not in fields] if base_known else []
            if missing:
                yield ctx.tree.finding(rule, info.file, info.line, f"{info.name} lacks the standard fields {', '.join(missing)}")
            for name in attributes:
                if not _non_empty(ctx.index.attribute(info, name)):
                    yield ctx.tree.finding(rule, info.file, info.line, f"{info.name} does not declare the class attribute {name}")
            continue
        reason = _looks_like_job(ctx, info, rule)
        if reason:
            missing = [f for f in required if f not in info.fields]
            detail = f"; it lacks {', '.join(missing)}" if missing else ""
            yield ctx.tree.finding(
                rule, info.file, info.line, f"{info.name} looks like a background job ({reason}) but does not inherit {short}{detail}"
            )


# --- BG-002 -----------------------------------------------------------------------------------

_STATUS_KEYWORD = re.compile(r"(^|__)status(__\w+)?$")


def _string_values(node: ast.AST) -> list[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _is_status_expr(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "status") or (isinstance(node, ast.Name) and node.id == "status")


def _status_literals(node: ast.AST) -> list[ast.Constant]:
    """Return the string literals a node puts in a job-status position."""
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        if any(_is_status_expr(s) for s in sides):
            return [c for s in sides if not _is_status_expr(s) for c in _string_values(s)]
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is not None and any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
            return _string_values(node.value)
    elif isinstance(node, ast.Dict):
        return [
            c
            for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and k.value == "status"
            for c in _string_values(v)
        ]
    elif isinstance(node, ast.Call):
        return [c for kw in node.keywords if kw.arg and _STATUS_KEYWORD.search(kw.arg) for c in _string_values(kw.value)]
    return []


def _domain_receiver(ctx: Context, module: str, node: ast.Call, base: str) -> bool:
    """Whether a call is a query on a known model that is not a job (``Order.objects.filter(status=...)``)."""
    chain = dotted(node.func)
    if ".objects." not in f"{chain}.":
        return False
    info = ctx.index.find_class(ctx.index.resolve(module, chain.split(".objects", 1)[0]))
    return info is not None and not _is_job(ctx, info, base)


def check_no_string_literal(ctx: Context, rule: dict) -> Iterator[Finding]:
    _require(rule, "values")
    approved = set(as_list(rule["values"]))
    foreign = set(as_list(rule.get("job_like_values")))
    base = rule.get("job_base", "background_tasks.models.BackgroundTask")
    enum = rule.get("enum", "TaskStatus")
    enum_lines_by_file = _enum_class_lines(ctx)
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        module = ctx.tree.module_name(rel)
        enum_lines = enum_lines_by_file.get(rel, set())
        for node in ctx.tree.walk(rel):
            literals = _status_literals(node)
            if not literals or getattr(node, "lineno", 0) in enum_lines:
                continue
            if isinstance(node, ast.Call) and _domain_receiver(ctx, module, node, base):
                continue
            for const in literals:
                if const.value in approved:
                    message = f'Status literal "{const.value}": write {enum}.{const.value.upper()}'
                elif const.value in foreign:
                    message = f'"{const.value}" is not an approved job status ({", ".join(sorted(approved))})'
                else:
                    continue
                yield ctx.tree.finding(rule, rel, const.lineno, message)
    yield from _job_status_fields(ctx, rule, approved, base)


def _enum_class_lines(ctx: Context) -> dict[str, set[int]]:
    """Return, per file, the lines inside enum classes (a domain's own TextChoices are not job statuses)."""
    lines: dict[str, set[int]] = {}
    for info in ctx.index.classes.values():
        if info.is_enum:
            lines.setdefault(info.file, set()).update(range(info.node.lineno, (info.node.end_lineno or info.node.lineno) + 1))
    return lines


def _job_status_fields(ctx: Context, rule: dict, approved: set[str], base: str) -> Iterator[Finding]:
    """A job model (or a model that looks like one) whose status field allows values outside the set."""
    bg001 = {"looks_like_job": rule.get("looks_like_job") or {}}
    files = set(ctx.tree.select(rule.get("applies_to"), rule.get("exclude")))
    for info in ctx.index.classes.values():
        status = info.fields.get("status")
        if status is None or info.file not in files or info.qualname == base:
            continue
        if not (_is_job(ctx, info, base) or _looks_like_job(ctx, info, bg001)):
            continue
        outside = sorted(set(_status_values(ctx, info, status)) - approved)
        if outside:
            yield ctx.tree.finding(
                rule, info.file, status.lineno, f"{info.name}.status allows {', '.join(outside)}, outside the approved set"
            )


# --- BG-003 -----------------------------------------------------------------------------------


def _carries_job_id(node: ast.AST, body_functions: set[str]) -> bool:
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "job_id" for k in node.keys)
    return isinstance(node, ast.Call) and call_name(node) in body_functions


def _is_202(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Constant):
        return node.value == 202
    return dotted(node).endswith("HTTP_202_ACCEPTED") if node is not None else False


def check_trigger_views_subclass(ctx: Context, rule: dict) -> Iterator[Finding]:
    responses = set(as_list(rule.get("response_classes")) or ["Response", "JsonResponse"])
    body_functions = set(as_list(rule.get("job_body_functions")))
    bases = as_list(rule.get("base")) + as_list(rule.get("bases"))
    trigger_names = re.compile(rule["trigger_class_names"]) if rule.get("trigger_class_names") else None
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        for node in ctx.tree.walk(rel):
            if not (isinstance(node, ast.Call) and call_name(node) in responses):
                continue
            data = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "data"), None)
            if data is None or not _carries_job_id(data, body_functions):
                continue
            status = next((k.value for k in node.keywords if k.arg == "status"), None)
            if status is None and len(node.args) > 1:
                status = node.args[1]
            if not _is_202(status):
                shown = ast.unparse(status) if status is not None else "200 (the default)"
                yield ctx.tree.finding(rule, rel, node.lineno, f"A response carrying job_id answers {shown}, not 202 Accepted")
    markers = set(as_list(rule.get("trigger_class_attributes")))
    if bases and (trigger_names or markers):
        for info in _classes_in(ctx, rule):
            is_trigger = bool(trigger_names and trigger_names.search(info.name)) or bool(markers & set(info.attributes))
            if is_trigger and info.qualname not in bases and not any(ctx.index.inherits(info, b) for b in bases):
                names = " or ".join(b.rsplit(".", 1)[-1] for b in bases)
                yield ctx.tree.finding(rule, info.file, info.line, f"Trigger {info.name} does not subclass {names}")


# --- BG-004 -----------------------------------------------------------------------------------


def check_registry_covers_models(ctx: Context, rule: dict) -> Iterator[Finding]:
    base = rule.get("base", "background_tasks.models.BackgroundTask")
    seen: dict[str, ClassInfo] = {}
    for info in _classes_in(ctx, rule):
        if not _is_job(ctx, info, base) or info.abstract:
            continue
        task_type = ctx.index.attribute(info, "task_type")
        if isinstance(task_type, ast.Constant) and task_type.value:
            first = seen.setdefault(task_type.value, info)
            if first is not info:
                yield ctx.tree.finding(
                    rule, info.file, info.line,
                    f'{info.name} reuses task_type "{task_type.value}" of {first.name} ({first.file}): the registry keeps one',
                )
        problem = _not_loaded_by_app(ctx, info)
        if problem:
            yield ctx.tree.finding(rule, info.file, info.line, problem)
    yield from registry_findings(ctx.tree, ctx.index, rule)


def _app_dir(ctx: Context, rel: str) -> str | None:
    parts = rel.split("/")[:-1]
    while parts:
        if (ctx.tree.root / "/".join(parts) / "apps.py").exists():
            return "/".join(parts)
        parts.pop()
    return None


def _not_loaded_by_app(ctx: Context, info: ClassInfo) -> str:
    """Django registers a model when its app's models module imports it: say when that never happens."""
    app = _app_dir(ctx, info.file)
    if app is None or info.file == f"{app}/models.py":
        return ""
    models_file = f"{app}/models.py"
    module = ctx.tree.module_name(models_file)
    if models_file in ctx.index.tree.files() and ctx.index.canonical(f"{module}.{info.name}") == info.qualname:
        return ""
    return f"{info.name} is not imported by {models_file}, so Django's app registry and the BackgroundTasksService never see it"


# --- BG-005 -----------------------------------------------------------------------------------


def _task_decorator(node: ast.FunctionDef, names: set[str]) -> ast.AST | None:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if dotted(target).rsplit(".", 1)[-1] in names:
            return deco
    return None


def check_task_arguments_are_ids(ctx: Context, rule: dict) -> Iterator[Finding]:
    decorators = set(as_list(rule.get("task_decorators")) or ["shared_task", "task"])
    id_name = re.compile(rule.get("id_parameter", r"(^|_)id$"))
    allowed = set(as_list(rule.get("allowed_parameters")))
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        for node in ctx.tree.walk(rel):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            deco = _task_decorator(node, decorators)
            if deco is None:
                continue
            keywords = {k.arg: k.value for k in deco.keywords} if isinstance(deco, ast.Call) else {}
            if isinstance(keywords.get("serializer"), ast.Constant) and keywords["serializer"].value != "json":
                yield ctx.tree.finding(rule, rel, deco.lineno, f"Task {node.name} uses the {keywords['serializer'].value} serializer: JSON only")
            params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            bound = isinstance(keywords.get("bind"), ast.Constant) and keywords["bind"].value is True
            if bound and params:
                params = params[1:]
            for arg in params:
                annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
                if arg.arg in allowed or (id_name.search(arg.arg) and annotation in ("", "int")):
                    continue
                shown = f"{arg.arg}: {annotation}" if annotation else arg.arg
                yield ctx.tree.finding(rule, rel, arg.lineno, f"Task {node.name} takes {shown}: pass the job's id (an int) only")
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None:
                    yield ctx.tree.finding(rule, rel, extra.lineno, f"Task {node.name} takes *{extra.arg}: pass the job's id only")


# --- BG-006 -----------------------------------------------------------------------------------


def _is_atomic(node: ast.AST) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return dotted(target).rsplit(".", 1)[-1] == "atomic"


def check_no_direct_delay(ctx: Context, rule: dict) -> Iterator[Finding]:
    publish = set(as_list(rule.get("publish_calls")) or ["delay", "apply_async", "send_task"])
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        for scope in ctx.tree.walk(rel):
            if isinstance(scope, ast.With) and any(_is_atomic(item.context_expr) for item in scope.items):
                body = scope.body
            elif isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(_is_atomic(d) for d in scope.decorator_list):
                body = scope.body
            else:
                continue
            for stmt in body:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in publish:
                        yield ctx.tree.finding(
                            rule, rel, node.lineno,
                            f".{node.func.attr}() inside an open transaction: dispatch with background_task_dispatch (on commit)",
                        )


# --- layers -------------------------------------------------------------------------------------


def _imports_of(ctx: Context, rel: str) -> Iterator[tuple[int, str]]:
    for node in ctx.tree.walk(rel):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = ctx.index.absolute_module(rel, node)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _package_of(module: str, packages: list[str]) -> str | None:
    return next((p for p in sorted(packages, key=len, reverse=True) if _within(module, p)), None)


def check_forbidden_imports(ctx: Context, rule: dict) -> Iterator[Finding]:
    _require(rule, "modules", "forbid")
    modules, forbid = as_list(rule["modules"]), as_list(rule["forbid"])
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        if _package_of(ctx.tree.module_name(rel), modules) is None:
            continue
        for line, target in _imports_of(ctx, rel):
            hit = _package_of(target, forbid)
            if hit:
                yield ctx.tree.finding(rule, rel, line, f"{ctx.tree.module_name(rel)} imports {target} ({hit} may not be imported here)")


def check_independent_modules(ctx: Context, rule: dict) -> Iterator[Finding]:
    _require(rule, "modules")
    modules = as_list(rule["modules"])
    for rel in ctx.tree.select(rule.get("applies_to"), rule.get("exclude")):
        own = _package_of(ctx.tree.module_name(rel), modules)
        if own is None:
            continue
        for line, target in _imports_of(ctx, rel):
            other = _package_of(target, modules)
            if other and other != own:
                yield ctx.tree.finding(rule, rel, line, f"{own} imports {target}: task-type apps do not import each other")


CHECKS = {
    "subclass_of": check_subclass_of,
    "no_string_literal": check_no_string_literal,
    "trigger_views_subclass": check_trigger_views_subclass,
    "registry_covers_models": check_registry_covers_models,
    "task_arguments_are_ids": check_task_arguments_are_ids,
    "no_direct_delay": check_no_direct_delay,
    "forbidden_imports": check_forbidden_imports,
    "independent_modules": check_independent_modules,
}


def validate(*, root: Path, rules_path: Path, report: Report) -> ValidatorResult:
    """Run every rule of the rules file over the tree at ``root``."""
    document = load_rules(rules_path)
    rules = document.get("rules") or []
    for rule in rules:
        if not isinstance(rule, dict) or "id" not in rule or "check" not in rule:
            raise ValidatorFailed(f"{rules_path.name}: every rule needs an id and a check (got {rule!r:.80})")
        if rule["check"] not in CHECKS:
            raise ValidatorFailed(f"Rule {rule['id']}: unknown check {rule['check']!r}; known: {', '.join(CHECKS)}")
    tree = SourceTree(root, exclude=as_list(document.get("exclude")), parsed=scan_session(root).parsed)
    # Only the files some rule reads are parsed (most rules leave tests/ out).
    files = sorted({rel for rule in rules for rel in tree.select(rule.get("applies_to"), rule.get("exclude"))})
    report(5, f"Parsing {len(files)} files")
    tree.parse_all(files)
    ctx = Context(tree=tree, index=ProjectIndex(tree, files))
    findings: list[Finding] = []
    for position, rule in enumerate(rules, start=1):
        report(10 + 85 * position // (len(rules) + 1), f"Rule {rule['id']} ({position} of {len(rules)})")
        findings.extend(f for f in CHECKS[rule["check"]](ctx, rule) if not tree.allows(f))
    return ValidatorResult(findings=sorted(set(findings), key=_order), files_scanned=len(files))


def _order(finding: Finding):
    return (finding.file, finding.line, finding.rule_id, finding.message)
