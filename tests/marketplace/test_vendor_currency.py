"""A vendor's default currency: edited in the admin, checked as an ISO 4217 code."""
import pytest
from django.urls import reverse

from tests.factories import VendorFactory
from wizamart.marketplace.models import Vendor

pytestmark = pytest.mark.django_db


def test_a_new_vendor_reads_prices_in_euros():
    assert VendorFactory().default_currency == "EUR"


def test_the_default_currency_is_edited_in_the_admin(admin_client):
    vendor = VendorFactory(code="geneve", name="Genève")
    url = reverse("admin:marketplace_vendor_change", args=[vendor.pk])
    form = {"code": "geneve", "name": "Genève", "is_active": "on", "letzshop_api_key": ""}

    assert 'name="default_currency"' in admin_client.get(url).content.decode()
    response = admin_client.post(url, {**form, "default_currency": "CHF"})
    assert response.status_code == 302
    assert Vendor.objects.get(pk=vendor.pk).default_currency == "CHF"

    refused = admin_client.post(url, {**form, "default_currency": "swiss francs"})
    assert refused.status_code == 200
    assert "default_currency" in refused.context["adminform"].form.errors
    assert Vendor.objects.get(pk=vendor.pk).default_currency == "CHF"
