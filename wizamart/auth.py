"""Sessions and users read with SQL built once per process: what every authenticated request pays.

Django's database session store and ``ModelBackend`` build and compile an ORM query on every request
(the session by its key, then the user by id); for the short requests that make most of the traffic,
the status polls of open task pages, compiling cost more than the queries themselves. The classes
here answer exactly as Django's do (the same rows, the same checks, the same value converters) with
the SQL built once per model and database. Nothing is kept between requests: a logout, a password
change or a deactivated user takes effect on the next request, as with Django's own classes.
"""
from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone


class RowById:
    """``fetch(alias, key, *more)``: one model's row where its columns equal (or pass) the values given.

    ``where`` lists ``(field name, SQL operator)``; the values are prepared by each field for the
    database (as a queryset's filter prepares them) and the row's values converted as a queryset
    converts them (SQLite's datetimes and booleans, say).
    """

    def __init__(self, model, where: list[tuple[str, str]], columns: list[str] | None = None):
        self.model = model
        opts = model._meta
        self.where = [(opts.get_field(name), operator) for name, operator in where]
        self.fields = [opts.get_field(name) for name in columns] if columns else list(opts.concrete_fields)
        self._built: dict[str, tuple[str, list]] = {}

    def _build(self, alias: str) -> tuple[str, list]:
        built = self._built.get(alias)
        if built is None:
            connection = connections[alias]
            quote, table = connection.ops.quote_name, self.model._meta.db_table
            select = ", ".join(quote(field.column) for field in self.fields)
            where = " AND ".join(f"{quote(field.column)} {operator} %s" for field, operator in self.where)
            converters = []
            for index, field in enumerate(self.fields):
                column = field.get_col(table)
                functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if functions:
                    converters.append((index, functions, column))
            built = self._built[alias] = (f"SELECT {select} FROM {quote(table)} WHERE {where}", converters)
        return built

    def fetch(self, alias: str, *values) -> list | None:
        sql, converters = self._build(alias)
        connection = connections[alias]
        params = [field.get_db_prep_value(value, connection) for (field, _op), value in zip(self.where, values, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for index, functions, column in converters:
            value = row[index]
            for function in functions:
                value = function(value, column, connection)
            row[index] = value
        return row


class SessionStore(DatabaseSessionStore):
    """Django's database session store, reading the session row with SQL built once."""

    _row = None

    @classmethod
    def _session_row(cls) -> RowById:
        if cls._row is None:
            cls._row = RowById(cls.get_model_class(), [("session_key", "="), ("expire_date", ">")],
                               columns=["session_key", "session_data", "expire_date"])
        return cls._row

    def _get_session_from_db(self):
        try:
            alias = router.db_for_read(self.model)
            row = self._session_row().fetch(alias, self.session_key, timezone.now())
        except SuspiciousOperation as error:  # as Django's store: logged, and the session is empty
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            row = None
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=row[0], session_data=row[1], expire_date=row[2])


class ModelBackend(DjangoModelBackend):
    """Django's ``ModelBackend``, loading the request's user with SQL built once."""

    _row = None

    @classmethod
    def _user_row(cls) -> RowById:
        if cls._row is None:
            cls._row = RowById(get_user_model(), [(get_user_model()._meta.pk.name, "=")])
        return cls._row

    def get_user(self, user_id):
        model = get_user_model()
        alias = router.db_for_read(model)
        try:
            row = self._user_row().fetch(alias, user_id)
        except (TypeError, ValueError):  # a session holding an id of the wrong type: no user, as Django
            return None
        if row is None:
            return None
        user = model.from_db(alias, [field.attname for field in self._user_row().fields], row)
        return user if self.user_can_authenticate(user) else None
