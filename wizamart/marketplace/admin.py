"""Admin pages of the marketplace domain."""
from django import forms
from django.contrib import admin

from background_tasks.admin import BackgroundTaskAdmin

from .models import Order, OrderItem, Product, Subscription, SubscriptionMaintenanceRun, Vendor
from .services import subscription_maintenance_create


class VendorForm(forms.ModelForm):
    letzshop_api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored key.",
    )

    class Meta:
        model = Vendor
        fields = ("code", "name", "is_active", "default_currency", "letzshop_api_key")

    def clean_letzshop_api_key(self):
        value = self.cleaned_data.get("letzshop_api_key")
        # An empty field keeps the stored secret: it is never sent back to the browser.
        return value or (self.instance.letzshop_api_key if self.instance.pk else "")


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    form = VendorForm
    list_display = ("code", "name", "is_active", "default_currency", "has_credentials", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    prepopulated_fields = {"code": ("name",)}

    @admin.display(boolean=True, description="Letzshop API key")
    def has_credentials(self, obj):
        return obj.has_letzshop_credentials()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "vendor", "price", "currency", "availability", "quantity", "is_active", "updated_at")
    list_filter = ("availability", "is_active", "vendor")
    search_fields = ("sku", "title", "gtin", "brand")
    list_select_related = ("vendor",)
    raw_id_fields = ("vendor",)
    show_full_result_count = False


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ("product",)
    fields = ("external_id", "sku", "product", "title", "gtin", "state", "quantity", "unit_price")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("external_id", "order_number", "shipment_number", "vendor", "status", "total", "currency", "ship_country", "placed_at")
    list_filter = ("status", "vendor", "ship_country")
    search_fields = ("external_id", "order_number", "shipment_number", "letzshop_order_id", "customer_email")
    list_select_related = ("vendor",)
    inlines = [OrderItemInline]
    show_full_result_count = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "vendor",
        "plan",
        "interval",
        "status",
        "trial_end",
        "current_period_end",
        "cancel_at_period_end",
        "auto_renew",
    )
    list_filter = ("status", "plan", "interval", "auto_renew", "cancel_at_period_end")
    search_fields = ("vendor__code", "vendor__name")
    list_select_related = ("vendor",)


@admin.register(SubscriptionMaintenanceRun)
class SubscriptionMaintenanceRunAdmin(BackgroundTaskAdmin):
    list_display = BackgroundTaskAdmin.list_display + ("counts",)
    # The run takes no input: its trigger form is a single start button (schedule and tick are beat's).
    exclude = ("counts", "schedule", "tick")
    trigger_label = "Run subscription maintenance"
    create_service = staticmethod(subscription_maintenance_create)
