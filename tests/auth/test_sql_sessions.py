"""wizamart.accounts.auth answers as Django's database sessions and ModelBackend do, in one query built once."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from wizamart.accounts.auth import ModelBackend, SessionStore
from wizamart.accounts.models import UserSession as Session

from ..factories import StaffFactory

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/v1/admin/background-tasks/counts"


def logged_in_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_settings_use_these_classes(settings):
    assert settings.SESSION_ENGINE == "wizamart.accounts.auth"
    assert settings.AUTHENTICATION_BACKENDS == ["wizamart.accounts.auth.ModelBackend"]


def test_a_session_loads_the_same_data_as_djangos_store():
    store = SessionStore()
    store["answer"] = 42
    store["nested"] = {"a": [1, 2]}
    store.create()

    class DjangosStoreOnTheSameTable(DjangoSessionStore):
        @classmethod
        def get_model_class(cls):
            return Session

    DjangosStoreOnTheSameTable.__qualname__ = "SessionStore"  # the signing salt names the class
    ours, djangos = SessionStore(store.session_key), DjangosStoreOnTheSameTable(store.session_key)
    assert ours.load() == djangos.load() == {"answer": 42, "nested": {"a": [1, 2]}}
    assert ours.session_key == store.session_key


def test_an_expired_or_unknown_session_is_empty_and_forgets_its_key():
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    unknown = SessionStore("k" * 32)
    assert unknown.load() == {}
    assert unknown.session_key is None


def test_a_tampered_session_is_empty():
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(session_key=store.session_key).update(session_data="not-signed-data")
    assert SessionStore(store.session_key).load() == {}


def test_the_user_has_the_same_values_as_djangos_backend():
    user = StaffFactory(first_name="Zoë", last_name="Ünal", email="zoe@example.com")
    user.last_login = timezone.now().replace(microsecond=123456)
    user.save()
    ours, djangos = ModelBackend().get_user(user.pk), DjangoModelBackend().get_user(user.pk)
    fields = [field.attname for field in get_user_model()._meta.concrete_fields]
    assert {name: getattr(ours, name) for name in fields} == {name: getattr(djangos, name) for name in fields}
    assert ours.is_staff is True and ours.is_active is True  # booleans, not 1/0 (SQLite)
    assert ours.last_login == user.last_login and ours.last_login.tzinfo is not None
    assert ours._state.adding is False and ours._state.db == "default"


def test_no_user_for_an_unknown_or_inactive_id_or_a_wrong_type():
    user = StaffFactory(is_active=False)
    assert ModelBackend().get_user(user.pk) is None
    assert ModelBackend().get_user(user.pk + 1000) is None
    assert ModelBackend().get_user("not-a-number") is None


def test_a_request_reads_its_session_and_user_in_one_query():
    user = StaffFactory()
    client = logged_in_client(user)
    assert Session.objects.get(session_key=client.cookies["sessionid"].value).user_id == user.pk
    with CaptureQueriesContext(connection) as queries:
        assert client.get(STATUS_URL).status_code == 200
    auth_queries = [
        q["sql"] for q in queries.captured_queries
        if Session._meta.db_table in q["sql"] or connection.ops.quote_name("auth_user") in q["sql"]
    ]
    assert len(auth_queries) == 1, auth_queries
    assert "LEFT JOIN" in auth_queries[0]


def test_the_session_data_decides_when_the_column_disagrees():
    alice, bob = StaffFactory(), StaffFactory(is_staff=False)
    client = logged_in_client(bob)
    Session.objects.filter(session_key=client.cookies["sessionid"].value).update(user_id=alice.pk)
    # The data says bob (not staff): the column's alice is not taken.
    assert client.get(STATUS_URL).status_code == 403


def test_a_session_without_its_column_still_finds_its_user():
    client = logged_in_client(StaffFactory())
    Session.objects.filter(session_key=client.cookies["sessionid"].value).update(user_id=None)
    assert client.get(STATUS_URL).status_code == 200


def test_deleting_the_user_ends_the_session():
    user = StaffFactory()
    client = logged_in_client(user)
    key = client.cookies["sessionid"].value
    user.delete()
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(STATUS_URL).status_code in (401, 403)


def test_logging_out_ends_the_session_at_once():
    client = logged_in_client(StaffFactory())
    assert client.get(STATUS_URL).status_code == 200
    other = APIClient()
    other.cookies = client.cookies  # the same session in another tab
    client.post("/admin/logout/")
    assert other.get(STATUS_URL).status_code in (401, 403)


def test_a_password_change_ends_the_other_sessions():
    user = StaffFactory()
    client = logged_in_client(user)
    assert client.get(STATUS_URL).status_code == 200
    user.set_password("a-new-password-1234")
    user.save()
    assert client.get(STATUS_URL).status_code in (401, 403)


def test_deactivating_or_demoting_a_user_takes_effect_on_the_next_request():
    user = StaffFactory()
    client = logged_in_client(user)
    assert client.get(STATUS_URL).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_staff=False)
    assert client.get(STATUS_URL).status_code == 403
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True, is_active=False)
    assert client.get(STATUS_URL).status_code in (401, 403)


def test_the_admin_login_form_logs_in_through_this_backend():
    user = StaffFactory()
    user.set_password("correct-horse-battery")
    user.save()
    client = APIClient()
    response = client.post("/admin/login/", {"username": user.username, "password": "correct-horse-battery", "next": "/admin/"})
    assert response.status_code == 302
    session = SessionStore(client.cookies["sessionid"].value)
    assert session["_auth_user_backend"] == "wizamart.accounts.auth.ModelBackend"
    assert Session.objects.get(session_key=session.session_key).user_id == user.pk
    assert client.get(STATUS_URL).status_code == 200
    stranger = APIClient()
    assert stranger.post("/admin/login/", {"username": user.username, "password": "wrong"}).status_code == 200
    assert stranger.get(STATUS_URL).status_code in (401, 403)
