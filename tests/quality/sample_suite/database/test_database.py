"""A test that writes to the test database (pytest-django creates it for the run)."""
import pytest
from django.db import connection

from wizamart.marketplace.models import Vendor


@pytest.mark.django_db
def test_writes_a_vendor():
    Vendor.objects.create(code="sample", name="Sample vendor")
    assert Vendor.objects.filter(code="sample").count() == 1
    assert connection.settings_dict["NAME"].rsplit("/", 1)[-1].startswith("test_")
