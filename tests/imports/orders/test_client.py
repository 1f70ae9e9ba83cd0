"""The Letzshop client against the fake server over real HTTP: what it retries, how long it waits, what it refuses."""
import logging

import pytest

from imports.orders.letzshop.client import LetzshopAuthError, LetzshopClient, LetzshopError, LetzshopUnavailable

from .conftest import API_KEY

pytestmark = pytest.mark.usefixtures("fast_retries")


def client_for(server, key=API_KEY):
    return LetzshopClient(api_key=key, url=server.url)


def test_reads_a_page_with_its_cursor_and_total(fake_letzshop):
    server = fake_letzshop(shipments=12)
    with client_for(server) as client:
        page = client.shipments_page(first=5)
        later = client.shipments_page(first=5, after=page.end_cursor)
    assert [len(page.nodes), page.total_count, page.has_next] == [5, 12, True]
    assert later.nodes[0]["id"] == "maison-lux-S0000005"
    assert client.stats.retries == 0


def test_retry_after_is_honoured_never_a_request_earlier(fake_letzshop):
    server = fake_letzshop(shipments=3, retry_after=1)
    server.script("429", "429")
    with client_for(server) as client:
        page = client.shipments_page(first=3)
    assert len(page.nodes) == 3
    first, second, third = server.requests
    assert [first.status, second.status, third.status] == [429, 429, 200]
    # The server's own clock: each call after a 429 arrives at least Retry-After seconds after it.
    assert second.received - first.answered >= 1.0
    assert third.received - second.answered >= 1.0
    assert client.stats.retries == 2
    assert client.stats.rate_limit_wait == pytest.approx(2.0)


@pytest.mark.parametrize("fault", ["502", "503", "504", "reset", "timeout", "graphql_error"])
def test_transient_faults_are_retried_with_backoff(fake_letzshop, fault):
    server = fake_letzshop(shipments=3, slow_seconds=2.5)
    server.script(fault, fault)
    with client_for(server) as client:
        page = client.shipments_page(first=3)
    assert len(page.nodes) == 3
    assert len(server.requests) == 3
    assert client.stats.retries == 2
    assert client.stats.rate_limit_wait == 0
    gaps = [b.received - a.received for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert all(gap >= 0.05 for gap in gaps)  # BACKOFF_INITIAL: never an immediate hammering


@pytest.mark.parametrize("fault", ["401", "403", "revoked"])
def test_auth_failures_fail_at_once_without_retrying(fake_letzshop, fault):
    server = fake_letzshop(shipments=3)
    server.script(fault)
    with client_for(server) as client, pytest.raises(LetzshopAuthError, match="refused the vendor's API key"):
        client.shipments_page(first=3)
    assert len(server.requests) == 1


def test_wrong_key_fails_at_once(fake_letzshop):
    server = fake_letzshop(shipments=3)
    with client_for(server, key="not-the-key") as client, pytest.raises(LetzshopAuthError):
        client.shipments_page(first=3)
    assert len(server.requests) == 1


def test_gives_up_after_max_attempts_with_a_readable_message(fake_letzshop, settings):
    settings.LETZSHOP_MAX_ATTEMPTS = 3
    server = fake_letzshop(shipments=3)
    server.script("503", "503", "503", "503")
    with client_for(server) as client, pytest.raises(LetzshopUnavailable) as caught:
        client.shipments_page(first=3)
    assert str(caught.value) == (
        "The Letzshop API could not be reached after 3 attempts (last: 503 Service Unavailable); "
        "run the import again later."
    )
    assert len(server.requests) == 3


def test_total_retry_cap_over_the_whole_import(fake_letzshop, settings):
    settings.LETZSHOP_MAX_TOTAL_RETRIES = 2
    server = fake_letzshop(shipments=30)
    server.script("502", "502", "502")
    with client_for(server) as client, pytest.raises(LetzshopUnavailable, match="failed too often: 2 retries"):
        client.shipments_page(first=3)
        client.shipments_page(first=3)


def test_a_retry_after_beyond_the_limit_fails_instead_of_idling(fake_letzshop, settings):
    settings.LETZSHOP_MAX_RETRY_AFTER = 5
    server = fake_letzshop(shipments=3, retry_after=3600)
    server.script("429")
    with client_for(server) as client, pytest.raises(LetzshopUnavailable, match="asked to wait 3600s"):
        client.shipments_page(first=3)


def test_a_field_error_on_one_node_is_reported_for_that_node(fake_letzshop):
    server = fake_letzshop(shipments=6)
    server.script("node_error")
    with client_for(server) as client:
        page = client.shipments_page(first=6)
    assert page.node_errors == {3: "Could not load the customer's e-mail address."}


def test_a_query_the_server_rejects_fails_without_retry(fake_letzshop, monkeypatch):
    server = fake_letzshop(shipments=3)
    monkeypatch.setattr("imports.orders.letzshop.client.SHIPMENTS_QUERY", "{ shipments(first: 1) { colour } }")
    with client_for(server) as client, pytest.raises(LetzshopError, match="rejected the query"):
        client.shipments_page(first=3)
    assert len(server.requests) == 1


def test_the_key_is_in_no_message_or_log_line(fake_letzshop, caplog):
    caplog.set_level(logging.DEBUG)
    server = fake_letzshop(shipments=3, slow_seconds=2.5, revoked_keys={API_KEY}, vendors={"other": "other-key"})
    server.script("503", "reset", "timeout", "429")
    server.retry_after = 0
    with client_for(server) as client, pytest.raises(LetzshopAuthError) as caught:
        client.shipments_page(first=3)
    assert server.requests[-1].authorization == f"Bearer {API_KEY}"  # it was sent...
    assert API_KEY not in str(caught.value)  # ...and is nowhere else
    assert API_KEY not in caplog.text
    assert caplog.text  # the retries were logged
