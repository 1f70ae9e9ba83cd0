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
    settings.LETZSHOP_READ_TIMEOUT = 1.5
    settings.LETZSHOP_CONNECT_TIMEOUT = 0.5
    return settings


@pytest.fixture
def vendor(db):
    return VendorFactory(code="maison-lux", letzshop_api_key=API_KEY)


@pytest.fixture
def catalogue(vendor):
    """The vendor's products with the skus the fake server sells (MAI-0000 to MAI-0039)."""
    from imports.orders.letzshop.fake import demo_sku
    from tests.factories import ProductFactory

    return [ProductFactory(vendor=vendor, sku=demo_sku(vendor.code, n)) for n in range(40)]


@pytest.fixture
def run_order_import(run_on_commit):
    """Create an order import through its service, run it here, return it refreshed."""
    from imports.orders.services import order_import_create

    def run(vendor, **options):
        job = run_on_commit(order_import_create, vendor=vendor, triggered_by="manual:test", **options)
        job.refresh_from_db()
        return job

    return run


def served_nodes(server, vendor_code="maison-lux"):
    """Every shipment the fake server holds for a vendor, as it would send them."""
    return [server.node(vendor_code, index) for index in range(server.data[vendor_code].count)]
