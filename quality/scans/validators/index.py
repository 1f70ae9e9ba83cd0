"""A static index of a source tree: each module's imports and classes, with bases resolved to dotted names."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .base import SourceTree, dotted

ENUM_BASES = {"TextChoices", "IntegerChoices", "Choices", "Enum", "StrEnum", "IntEnum"}
FIELD_SUFFIXES = ("Field", "ForeignKey")


@dataclass
class ClassInfo:
    qualname: str
    name: str
    file: str
    line: int
    node: ast.ClassDef
    bases: list[str]
    fields: dict[str, ast.Call] = field(default_factory=dict)
    attributes: dict[str, ast.AST] = field(default_factory=dict)
    abstract: bool = False
    # An unmanaged model (a database view) owns no rows: never a job.
    unmanaged: bool = False

    @property
    def is_enum(self) -> bool:
        return any(base.rsplit(".", 1)[-1] in ENUM_BASES for base in self.bases)


def is_field_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = dotted(node.func).rsplit(".", 1)[-1]
    return name.endswith(FIELD_SUFFIXES) or name == "OneToOneField"


def _meta_option(node: ast.ClassDef, option: str):
    """Return a constant option of a model's inner Meta (``abstract``, ``managed``), or None."""
    for item in node.body:
        if isinstance(item, ast.ClassDef) and item.name == "Meta":
            for stmt in item.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == option for t in stmt.targets)
                    and isinstance(stmt.value, ast.Constant)
                ):
                    return stmt.value.value
    return None


class ProjectIndex:
    """Imports and classes of every file of a tree, and inheritance questions answered across modules."""

    def __init__(self, tree: SourceTree, files: list[str] | None = None):
        self.tree = tree
        self.imports: dict[str, dict[str, str]] = {}  # module -> local name -> dotted target
        self.module_files: dict[str, str] = {}
        self.classes: dict[str, ClassInfo] = {}
        for rel in tree.files() if files is None else files:
            self._index_file(rel)

    # --- building ------------------------------------------------------------------------------

    def _index_file(self, rel: str) -> None:
        module = self.tree.module_name(rel)
        self.module_files[module] = rel
        names: dict[str, str] = {}
        for node in self.tree.walk(rel):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = self.absolute_module(rel, node)
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        self.imports[module] = names
        for node in self.tree.tree(rel).body:
            if isinstance(node, ast.ClassDef):
                self._index_class(rel, module, node, prefix=module)

    def _index_class(self, rel: str, module: str, node: ast.ClassDef, *, prefix: str) -> None:
        info = ClassInfo(
            qualname=f"{prefix}.{node.name}",
            name=node.name,
            file=rel,
            line=node.lineno,
            node=node,
            bases=[self.resolve(module, dotted(b)) for b in node.bases if dotted(b)],
            abstract=bool(_meta_option(node, "abstract")),
            unmanaged=_meta_option(node, "managed") is False,
        )
        for stmt in node.body:
            targets, value = [], None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name):
                    if is_field_call(value):
                        info.fields[target.id] = value
                    else:
                        info.attributes[target.id] = value
            if isinstance(stmt, ast.ClassDef):
                self._index_class(rel, module, stmt, prefix=info.qualname)
        self.classes[info.qualname] = info

    def absolute_module(self, rel: str, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = self.tree.module_name(rel).split(".")
        if not rel.endswith("__init__.py"):
            package = package[:-1]
        if node.level > 1:
            package = package[: len(package) - (node.level - 1)]
        return ".".join([*package, node.module] if node.module else package)

    # --- questions -----------------------------------------------------------------------------

    def resolve(self, module: str, name: str) -> str:
        """Return the dotted target a name used in ``module`` stands for."""
        if not name:
            return ""
        head, _, rest = name.partition(".")
        names = self.imports.get(module, {})
        if head in names:
            target = names[head]
        else:
            target = f"{module}.{head}" if self._defined_in(module, head) else head
        return f"{target}.{rest}" if rest else target

    def _defined_in(self, module: str, name: str) -> bool:
        rel = self.module_files.get(module)
        if rel is None:
            return False
        return any(isinstance(n, ast.ClassDef) and n.name == name for n in self.tree.tree(rel).body)

    def find_class(self, name: str, _depth: int = 0) -> ClassInfo | None:
        """Return the class a dotted name stands for, following re-exports (``from .x import Y``)."""
        if name in self.classes:
            return self.classes[name]
        module, _, attr = name.rpartition(".")
        if _depth > 8 or module not in self.imports or attr not in self.imports[module]:
            return None
        return self.find_class(self.imports[module][attr], _depth + 1)

    def canonical(self, name: str) -> str:
        info = self.find_class(name)
        return info.qualname if info else name

    def inherits(self, info: ClassInfo, base: str) -> bool:
        """Whether a class has ``base`` (dotted) among its ancestors, as far as the tree shows."""
        seen: set[str] = set()
        stack = list(info.bases)
        while stack:
            name = self.canonical(stack.pop())
            if name == base or name in seen:
                if name == base:
                    return True
                continue
            seen.add(name)
            parent = self.classes.get(name)
            if parent is not None:
                stack.extend(parent.bases)
        return False

    def ancestry(self, info: ClassInfo) -> list[ClassInfo]:
        """Return the class and its ancestors found in the tree, nearest first."""
        chain, seen, stack = [], set(), [info.qualname]
        while stack:
            name = self.canonical(stack.pop(0))
            if name in seen or name not in self.classes:
                continue
            seen.add(name)
            chain.append(self.classes[name])
            stack.extend(self.classes[name].bases)
        return chain

    def all_fields(self, info: ClassInfo) -> dict[str, ast.Call]:
        found: dict[str, ast.Call] = {}
        for cls in reversed(self.ancestry(info)):
            found.update(cls.fields)
        return found

    def attribute(self, info: ClassInfo, name: str) -> ast.AST | None:
        for cls in self.ancestry(info):
            if name in cls.attributes:
                return cls.attributes[name]
        return None

    def enum_values(self, info: ClassInfo) -> list[str]:
        values = []
        for value in info.attributes.values():
            if isinstance(value, ast.Tuple) and value.elts:
                value = value.elts[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                values.append(value.value)
        return values
