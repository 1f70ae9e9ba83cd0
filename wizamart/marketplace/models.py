"""Domain models: Vendor, Product, Order and OrderItem, Subscription, maintenance runs."""
from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from background_tasks.models import ScheduledBackgroundTask


class Vendor(models.Model):
    """A seller on Letzshop; ``code`` names it everywhere (API, commands, files)."""

    code = models.SlugField(max_length=64, unique=True, help_text="Short unique name, e.g. 'maison-lux'.")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # Credentials for the Letzshop API: never shown in lists, never logged (see __repr__).
    letzshop_api_key = models.CharField(max_length=255, blank=True, default="")
    default_currency = models.CharField(
        max_length=3, default="EUR", validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code such as EUR.")],
        help_text="The currency of imported prices that name none (ISO 4217, e.g. EUR).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def __repr__(self) -> str:
        return f"<Vendor {self.code}>"

    def has_letzshop_credentials(self) -> bool:
        return bool(self.letzshop_api_key)


class Product(models.Model):
    """One item of a vendor's catalogue, with the Google-Merchant / Letzshop feed fields."""

    class Availability(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        PREORDER = "preorder", "Preorder"
        BACKORDER = "backorder", "Backorder"

    class Condition(models.TextChoices):
        NEW = "new", "New"
        REFURBISHED = "refurbished", "Refurbished"
        USED = "used", "Used"

    # No index of its own: the unique (vendor, sku) index serves lookups by vendor, and one index
    # less makes every insert cheaper.
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="products", db_index=False)
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    link = models.CharField(max_length=2000, blank=True, default="")
    image_link = models.CharField(max_length=2000, blank=True, default="")
    additional_image_link = models.TextField(blank=True, default="")
    availability = models.CharField(max_length=20, choices=Availability.choices, default=Availability.IN_STOCK)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="EUR")
    sale_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    brand = models.CharField(max_length=200, blank=True, default="")
    gtin = models.CharField(max_length=50, blank=True, default="")
    mpn = models.CharField(max_length=100, blank=True, default="")
    condition = models.CharField(max_length=20, choices=Condition.choices, default=Condition.NEW)
    google_product_category = models.CharField(max_length=500, blank=True, default="")
    product_type = models.CharField(max_length=500, blank=True, default="")
    color = models.CharField(max_length=100, blank=True, default="")
    size = models.CharField(max_length=100, blank=True, default="")
    weight = models.CharField(max_length=50, blank=True, default="")
    quantity = models.IntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["vendor", "sku"]
        constraints = [models.UniqueConstraint(fields=["vendor", "sku"], name="product_unique_vendor_sku")]

    def __str__(self) -> str:
        return f"{self.sku} — {self.title}"


class Order(models.Model):
    """An order placed on Letzshop for one vendor."""

    class Status(models.TextChoices):
        # Letzshop's order states.
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        CONFIRMED = "confirmed", "Confirmed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        DECLINED = "declined", "Declined"
        RETURNED = "returned", "Returned"

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(
        max_length=100, help_text="The Letzshop shipment's id (the vendor's part of an order): the order import's key."
    )
    letzshop_order_id = models.CharField(max_length=100, blank=True, default="", help_text="The order's id on Letzshop.")
    order_number = models.CharField(max_length=100, blank=True, default="")
    shipment_number = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNCONFIRMED)
    customer_name = models.CharField(max_length=200, blank=True, default="")
    customer_email = models.EmailField(blank=True, default="")
    currency = models.CharField(max_length=3, default="EUR")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    locale = models.CharField(max_length=10, blank=True, default="")
    ship_country = models.CharField(max_length=2, blank=True, default="", help_text="ISO code of the delivery country.")
    placed_at = models.DateTimeField(null=True, blank=True)
    letzshop_updated_at = models.DateTimeField(null=True, blank=True, help_text="When Letzshop last changed the shipment.")
    # Digest of the values last imported (order and items): an unchanged shipment is not written again.
    import_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["vendor", "external_id"], name="order_unique_vendor_external_id")]

    def __str__(self) -> str:
        return f"Order {self.order_number or self.external_id}"


class OrderItem(models.Model):
    """One line of an order; from Letzshop, one inventory unit (quantity 1)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    # The Letzshop inventory unit's id (null for items entered otherwise): the import upserts by it.
    external_id = models.CharField(max_length=100, null=True, blank=True)
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=500, blank=True, default="")
    gtin = models.CharField(max_length=50, blank=True, default="")
    state = models.CharField(max_length=40, blank=True, default="")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="orderitem_unique_order_external_id")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class SubscriptionQuerySet(models.QuerySet):
    def trialing(self):
        return self.filter(status=Subscription.Status.TRIALING)

    def active(self):
        return self.filter(status=Subscription.Status.ACTIVE)

    def ended_trials(self, now):
        return self.trialing().filter(trial_end__lte=now)

    def ended_periods(self, now):
        """Active subscriptions whose current period is over."""
        return self.active().filter(current_period_end__lte=now)


class Subscription(models.Model):
    """A vendor's plan on the platform."""

    class Plan(models.TextChoices):
        ESSENTIAL = "essential", "Essential"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.ESSENTIAL)
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTH)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRIALING, db_index=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True, db_index=True)
    cancel_at_period_end = models.BooleanField(default=False)
    auto_renew = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["vendor", "-created_at"]

    def __str__(self) -> str:
        return f"{self.vendor.code}: {self.get_plan_display()} ({self.get_status_display()})"


class SubscriptionMaintenanceRun(ScheduledBackgroundTask):
    """One pass of the daily subscription maintenance."""

    task_type = "subscription_maintenance"
    queue = "scheduled"

    counts = models.JSONField(default=dict, blank=True)

    class Meta(ScheduledBackgroundTask.Meta):
        verbose_name = "subscription maintenance run"

    def execute(self, progress):
        from .services import subscription_maintenance_execute

        return subscription_maintenance_execute(run=self, progress=progress)

    def get_details(self) -> dict:
        details = {"counts": self.counts}
        if self.tick is not None:
            details.update(schedule=self.schedule, tick=self.tick.isoformat())
        return details
