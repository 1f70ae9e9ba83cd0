"""Create the SQL view that unions every job table; rebuilt after each migrate."""
from django.db import DEFAULT_DB_ALIAS, connections

from .models import UnifiedTask

VIEW_COLUMNS = [f.column for f in UnifiedTask._meta.concrete_fields if f.column != "task_type"]


def unified_view_sql(connection) -> str:
    """Return CREATE VIEW for the current set of job models."""
    from .registry import task_models

    qn = connection.ops.quote_name
    selects = []
    for task_type, model in task_models().items():
        cols = ", ".join(qn(c) for c in VIEW_COLUMNS)
        literal = "'" + task_type.replace("'", "''") + "'"
        selects.append(f"SELECT {cols}, CAST({literal} AS varchar(50)) AS task_type FROM {qn(model._meta.db_table)}")
    if not selects:
        # No task type installed: an empty view with the right columns.
        selects.append(
            "SELECT " + ", ".join(f"NULL AS {qn(c)}" for c in VIEW_COLUMNS) + ", NULL AS task_type WHERE 1 = 0"
        )
    return f"CREATE VIEW {qn(UnifiedTask._meta.db_table)} AS " + " UNION ALL ".join(selects)


def drop_unified_view(using=DEFAULT_DB_ALIAS, **kwargs):
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP VIEW IF EXISTS {connection.ops.quote_name(UnifiedTask._meta.db_table)}")


def create_unified_view(using=DEFAULT_DB_ALIAS, **kwargs):
    from .registry import task_models

    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if any(m._meta.db_table not in tables for m in task_models().values()):
        return  # a partial migrate (to an earlier state): the view waits for the full one
    drop_unified_view(using=using)
    with connection.cursor() as cursor:
        cursor.execute(unified_view_sql(connection))
