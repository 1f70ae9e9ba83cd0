"""How the fake Letzshop server executes a query cheaply, with graphql-core's answer.

Each distinct query text is parsed and validated once (graphql-core, against the real schema).
graphql-core then executes the query, except for the shipment nodes when their selection is
plain fields (no fragments, directives, arguments or ``__typename``, the shape a client sends):
those are projected from the generated node dicts by a plan compiled from the validated
selection, each leaf serialized by its schema type as graphql-core would. Anything the plan
cannot answer exactly (a missing non-null value, a value its scalar or enum refuses, a node
error scripted by a test) is executed by graphql-core in full, so every answer, errors
included, is graphql-core's. tests/imports/orders/test_fake_server.py compares the two paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_named_type,
    is_list_type,
    is_non_null_type,
    parse,
    validate,
)
from graphql.language import REMOVE, Visitor, visit

# Where the ``shipments`` resolver leaves the page's raw nodes for the projection.
RAW_NODES = "raw_nodes"
QUERY_CACHE_SIZE = 64


class _Unprojectable(Exception):
    """The plan cannot answer this exactly: let graphql-core execute the whole query."""


@dataclass(frozen=True)
class _Step:
    key: str  # the response key (alias or name)
    name: str  # the field's name in the schema
    type: object  # the field's GraphQL output type
    sub: tuple[_Step, ...] | None  # the object's fields, None for a leaf


@dataclass(frozen=True)
class CompiledQuery:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    # The fast path: the document without ``nodes``, where the answer goes, and how to project a node.
    without_nodes: DocumentNode | None = None
    shipments_key: str = ""
    connection_keys: tuple[str, ...] = ()
    nodes_key: str = ""
    node_plan: tuple[_Step, ...] | None = None

    def run(self, schema: GraphQLSchema, *, variables: dict, context: dict, operation_name: str | None) -> dict:
        """Return the formatted answer (``{"data": ..., "errors": [...]}``) graphql-core gives this query."""
        if self.errors:
            return ExecutionResult(data=None, errors=list(self.errors)).formatted
        if self.node_plan is not None and not context.get("node_error"):
            try:
                return self._run_projected(schema, variables=variables, context=context, operation_name=operation_name)
            except _Unprojectable:
                pass
        return _executed(schema, self.document, variables, context, operation_name).formatted

    def _run_projected(self, schema, *, variables, context, operation_name) -> dict:
        result = _executed(schema, self.without_nodes, variables, context, operation_name)
        connection = (result.data or {}).get(self.shipments_key)
        if result.errors or not isinstance(connection, dict):
            raise _Unprojectable  # errors are graphql-core's to word, with the whole document
        nodes = [_project(node, self.node_plan) for node in context.get(RAW_NODES, ())]
        result.data[self.shipments_key] = {
            key: nodes if key == self.nodes_key else connection[key] for key in self.connection_keys
        }
        return result.formatted


def _executed(schema, document, variables, context, operation_name) -> ExecutionResult:
    result = execute(schema, document, variable_values=variables, context_value=context, operation_name=operation_name)
    if not isinstance(result, ExecutionResult):  # an awaitable: the schema has no async resolvers
        raise TypeError("The fake server's schema must execute synchronously")
    return result


def _project(value, plan: tuple[_Step, ...]) -> dict:
    if not isinstance(value, dict):
        raise _Unprojectable
    return {step.key: _complete(value.get(step.name), step.type, step.sub) for step in plan}


def _complete(value, type_, sub):
    if is_non_null_type(type_):
        if value is None:
            raise _Unprojectable
        type_ = type_.of_type
    if value is None:
        return None
    if is_list_type(type_):
        if not isinstance(value, list):
            raise _Unprojectable
        return [_complete(item, type_.of_type, sub) for item in value]
    if sub is not None:
        return _project(value, sub)
    if callable(value):  # graphql-core's default resolver would call it
        raise _Unprojectable
    try:
        return type_.serialize(value)
    except (GraphQLError, TypeError, ValueError):
        raise _Unprojectable from None


def _plan(selection_set: SelectionSetNode, parent: GraphQLObjectType) -> tuple[_Step, ...] | None:
    """Return the projection of a selection of plain fields, or None when it holds anything else."""
    steps = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        name = selection.name.value
        if name.startswith("__") or name not in parent.fields:
            return None
        field_type = parent.fields[name].type
        sub = None
        if selection.selection_set is not None:
            named = get_named_type(field_type)
            if not isinstance(named, GraphQLObjectType):
                return None
            sub = _plan(selection.selection_set, named)
            if sub is None:
                return None
        steps.append(_Step(key=selection.alias.value if selection.alias else name, name=name, type=field_type, sub=sub))
    if len({step.key for step in steps}) != len(steps):
        return None  # a key asked twice is merged by graphql-core's rules: leave it to graphql-core
    return tuple(steps)


class _Drop(Visitor):
    """Copy a document without one field (graphql-core's AST nodes are immutable)."""

    def __init__(self, target: FieldNode):
        super().__init__()
        self.target = target

    def enter_field(self, node, *_args):
        return REMOVE if node is self.target else None


def _plain_field(selection, name: str) -> bool:
    return isinstance(selection, FieldNode) and selection.name.value == name and not selection.directives


def _fast_path(schema: GraphQLSchema, document: DocumentNode) -> dict:
    """Find ``{ shipments { ... nodes { plain fields } } }`` in a one-operation document; {} when absent."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(document.definitions) != 1 or len(operations) != 1 or operations[0].operation.value != "query":
        return {}
    top = operations[0].selection_set.selections
    if len(top) != 1 or not _plain_field(top[0], "shipments") or top[0].selection_set is None:
        return {}
    shipments = top[0]
    inner = shipments.selection_set.selections
    if not all(isinstance(s, FieldNode) and not s.directives for s in inner):
        return {}
    keys = [s.alias.value if s.alias else s.name.value for s in inner]
    nodes = [i for i, s in enumerate(inner) if s.name.value == "nodes"]
    if len(nodes) != 1 or len(inner) < 2 or len(set(keys)) != len(keys) or inner[nodes[0]].selection_set is None:
        return {}
    connection_type = get_named_type(schema.query_type.fields["shipments"].type)
    plan = _plan(inner[nodes[0]].selection_set, get_named_type(connection_type.fields["nodes"].type))
    if plan is None:
        return {}
    return {
        "without_nodes": visit(document, _Drop(inner[nodes[0]])),
        "shipments_key": shipments.alias.value if shipments.alias else "shipments",
        "connection_keys": tuple(keys),
        "nodes_key": keys[nodes[0]],
        "node_plan": plan,
    }


def query_compiler(schema: GraphQLSchema):
    """Return a function compiling query text for this schema, each distinct text once (LRU)."""

    @lru_cache(maxsize=QUERY_CACHE_SIZE)
    def compile_query(text: str) -> CompiledQuery:
        try:
            document = parse(text)
        except GraphQLError as error:
            return CompiledQuery(document=None, errors=(error,))
        errors = validate(schema, document)
        if errors:
            return CompiledQuery(document=document, errors=tuple(errors))
        return CompiledQuery(document=document, **_fast_path(schema, document))

    return compile_query
