"""factory_boy factories for the domain models and users."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from wizamart.marketplace.models import Product, Subscription, Vendor


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-word-123")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True


class LimitedStaffFactory(UserFactory):
    """A staff member who is not a superuser: only the permissions named by codename."""

    username = factory.Sequence(lambda n: f"clerk{n}")
    is_staff = True
    is_superuser = False

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        if create and extracted:
            self.user_permissions.add(*Permission.objects.filter(codename__in=extracted))


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"vendor-{n}")
    name = factory.LazyAttribute(lambda v: v.code.replace("-", " ").title())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    vendor = factory.SubFactory(VendorFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = factory.Sequence(lambda n: f"Produit {n}")
    price = Decimal("19.99")
    quantity = 5


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    vendor = factory.SubFactory(VendorFactory)
    status = Subscription.Status.ACTIVE
    current_period_start = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=20))
