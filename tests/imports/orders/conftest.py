"""Fixtures of the order import tests: the fake Letzshop server on loopback, a vendor with its key."""
import pytest

from imports.orders.letzshop.fake import FakeLetzshop
from tests.factories import VendorFactory

API_KEY = "lsk-test-5ecret-9f3a71c2"


@pytest.fixture
def fake_letzshop(settings):
    """Start fake Letzshop servers on free loopback ports (the last one started is the project's API)."""
    started = []

    def start(**options) -> FakeLetzshop:
        options.setdefault("vendors", {"maison-lux": API_KEY})
        server = FakeLetzshop(**options).start()
        started.append(server)
        settings.LETZSHOP_API_URL = server.url
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def fast_retries(settings):
    """Short backoff and timeouts so fault tests take seconds, not minutes."""
    settings.LETZSHOP_BACKOFF_INITIAL = 0.05
    settings.LETZSHOP_BACKOFF_MAX = 0.2
    settings.LETZSHOP_BACKOFF_JITTER = 0.05
    settings.LETZSHOP_READ_TIMEOUT = 0.5
    settings.LETZSHOP_CONNECT_TIMEOUT = 0.5
    return settings


@pytest.fixture
def vendor(db):
    return VendorFactory(code="maison-lux", letzshop_api_key=API_KEY)
