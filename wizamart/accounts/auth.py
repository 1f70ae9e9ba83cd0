"""A request's session and its user in one query, with SQL built once per process.

Django's database session store and ``ModelBackend`` build and compile an ORM query on every request,
the session by its key and then the user by id: two round trips to the database before the view
starts. For the short requests that make most of the traffic, the status polls of open task pages,
that was most of their cost. Here the session row (``UserSession``, which names its user) is read
with its user's row in one LEFT JOIN; the backend then takes that row instead of asking again.

What Django decides stays Django's: the session data says who is logged in (``_auth_user_id``,
the backend, the password hash); ``django.contrib.auth.get_user`` checks them against the user's
row as always; a session whose column disagrees with its data, or has no user row, falls back to
reading the user by the data's id. Nothing is kept between requests: a logout, a password change,
a deactivated or demoted user take effect on the next request, as with Django's own classes.
"""
from __future__ import annotations

import functools
import logging
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.signals import request_finished
from django.db import connections, router
from django.utils import timezone

# (user id, user row) read with this thread's current request's session; taken by ModelBackend.get_user.
_session_user: ContextVar[tuple | None] = ContextVar("session_user", default=None)


def _forget_session_user(**_kwargs) -> None:
    _session_user.set(None)


request_finished.connect(_forget_session_user, dispatch_uid="wizamart_accounts_forget_session_user")


def _converters(connection, fields_by_table) -> list[tuple[int, list, object]]:
    """(column index, converter functions, column) for the selected fields, as a queryset converts them."""
    found, index = [], 0
    for table, fields in fields_by_table:
        for field in fields:
            column = field.get_col(table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                found.append((index, functions, column))
            index += 1
    return found


def _convert(row, converters, connection) -> list:
    row = list(row)
    for index, functions, column in converters:
        value = row[index]
        for function in functions:
            value = function(value, column, connection)
        row[index] = value
    return row


@functools.cache
def _session_statement(alias: str) -> dict:
    """The SELECT of a session with its user's row, built once per database alias."""
    from .models import UserSession

    connection = connections[alias]
    quote = connection.ops.quote_name
    user_model = get_user_model()
    session_fields = [UserSession._meta.get_field(name) for name in ("session_key", "session_data", "expire_date", "user")]
    user_fields = list(user_model._meta.concrete_fields)
    session_table, user_table = UserSession._meta.db_table, user_model._meta.db_table
    columns = ", ".join(
        [f"s.{quote(field.column)}" for field in session_fields] + [f"u.{quote(field.column)}" for field in user_fields]
    )
    sql = (
        f"SELECT {columns} FROM {quote(session_table)} s"
        f" LEFT JOIN {quote(user_table)} u ON u.{quote(user_model._meta.pk.column)} = s.{quote(session_fields[3].column)}"
        f" WHERE s.{quote(session_fields[0].column)} = %s AND s.{quote(session_fields[2].column)} > %s"
    )
    return {
        "sql": sql,
        "converters": _converters(connection, [(session_table, session_fields), (user_table, user_fields)]),
        "user_attnames": [field.attname for field in user_fields],
        "expire_field": session_fields[2],
    }


def _user_pk(value):
    """The user model's primary key from a session's ``_auth_user_id`` (None when it is not one)."""
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


class SessionStore(DatabaseSessionStore):
    """Django's database session store on ``UserSession``: the session and its user in one query."""

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        instance.user_id = _user_pk(data.get(SESSION_KEY))
        return instance

    def _get_session_from_db(self):
        _session_user.set(None)
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        built = _session_statement(alias)
        try:
            now = built["expire_field"].get_db_prep_value(timezone.now(), connection)
            with connection.cursor() as cursor:
                cursor.execute(built["sql"], [self.session_key, now])
                row = cursor.fetchone()
        except SuspiciousOperation as error:  # as Django's store: logged, and the session is empty
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            row = None
        if row is None:
            self._session_key = None
            return None
        row = _convert(row, built["converters"], connection)
        session_key, session_data, expire_date, user_id, user_row = row[0], row[1], row[2], row[3], row[4:]
        if user_id is not None and user_row[0] is not None:
            _session_user.set((user_id, user_row))
        return self.model(session_key=session_key, session_data=session_data, expire_date=expire_date, user_id=user_id)


class ModelBackend(DjangoModelBackend):
    """Django's ``ModelBackend``, taking the user row its session was read with, else Django's own lookup."""

    def get_user(self, user_id):
        pk = _user_pk(user_id)
        loaded = _session_user.get()
        _session_user.set(None)
        if pk is None:
            return None
        if loaded is None or loaded[0] != pk:
            return super().get_user(pk)
        model = get_user_model()
        alias = router.db_for_read(model)
        user = model.from_db(alias, _session_statement(alias)["user_attnames"], loaded[1])
        return user if self.user_can_authenticate(user) else None
