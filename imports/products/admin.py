"""Admin of the product import: the add form is the trigger (an upload goes through the column
mapping screen first); the change page shows the results."""
from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin, triggered_by_admin
from background_tasks.conf import task_settings
from background_tasks.files import UPLOAD_EXPIRED_MESSAGE, UploadExpired, open_stream, pending_upload_discard
from background_tasks.uploads import with_upload_limit
from wizamart.marketplace.feed import FEED_COLUMNS
from wizamart.marketplace.models import Vendor

from .forms import ColumnsForm, chosen_overrides, preset_field, source_column_formset
from .mappings import columns_proposal, feed_preview, vendor_column_mapping_save
from .models import MarketplaceImportJob, VendorColumnMapping
from .presets import PRESETS
from .reading import FeedUnusable, detect_format
from .serializers import ProductImportInputSerializer, upload_size_limit, upload_too_large_message
from .services import private_storage, product_import_create, product_import_store_pending_feed
from .xml_feed import looks_like_xml

TRIGGER_FIELDS = ("vendor", "marketplace", "upload", "source_url", "preset", "dry_run", "deactivate_missing")
# The mapping screen's link to a stored upload: signed, so it names only files this admin stored;
# it expires with the upload (BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"], after which the prune deletes it).
UPLOAD_SALT = "imports.products.admin.columns"
UPLOAD_LINK_INVALID = "The link to the uploaded file is not valid; upload the file again."
PREVIEW_ROWS = 5


class ProductImportForm(InputSerializerFormMixin, forms.ModelForm):
    """The admin's trigger form; its rules are the API's (ProductImportInputSerializer)."""

    input_serializer_class = ProductImportInputSerializer
    serializer_fields = {"upload": "file"}

    upload = forms.FileField(required=False, label="Feed file", help_text="A CSV product feed (any common encoding and delimiter) or a Google Merchant XML feed (RSS 2.0 or Atom).")
    source_url = forms.CharField(
        required=False, max_length=2000, label="Feed URL", help_text="Or an http(s) address the feed is downloaded from."
    )

    preset = preset_field(help_text="The shop format of the file's columns; an upload shows them before the import starts.")

    # Set by the admin when the upload stopped at the size limit (the file was not read).
    upload_over_limit = False
    # Set by the admin when the uploaded file has no columns to map (empty, not text, no header).
    upload_unusable = ""

    class Meta:
        model = MarketplaceImportJob
        fields = ("vendor", "marketplace", "source_url", "dry_run", "deactivate_missing")

    def clean(self):
        if self.upload_over_limit:
            self.add_error("upload", upload_too_large_message())
        if self.upload_unusable:
            self.add_error("upload", self.upload_unusable)
        return super().clean()


@admin.register(MarketplaceImportJob)
class MarketplaceImportJobAdmin(BackgroundTaskAdmin):
    form = ProductImportForm
    list_display = ("id", "vendor", "status_display", "progress_display", "progress_message", "rows_total", "rows_rejected", "dry_run", "created_at", "duration_display")
    list_filter = ("status", "dry_run", "vendor")
    list_select_related = ("vendor",)
    raw_id_fields = ("vendor",)
    search_fields = BackgroundTaskAdmin.search_fields + ("vendor__code", "source_name", "source_url")
    trigger_label = "Import products"
    create_service = staticmethod(product_import_create)
    # The task page's results summary: counts, first rejected rows, the error report link.
    details_template = "admin/imports/product_import_summary.html"

    def get_details_context(self, job, details: dict) -> dict:
        """The columns the import read, for the summary: "Artikelnummer → id, Preis → price"."""
        preset = PRESETS.get(details.get("preset") or "")
        order = {name: position for position, name in enumerate(FEED_COLUMNS)}
        pairs = sorted(((order.get(t, len(order)), s, t) for s, t in (details.get("column_mapping") or {}).items() if t))
        mapped = [f"{source} → {target}" for _, source, target in pairs]
        return {"mapped_columns": mapped, "preset_label": preset.label if preset else ""}

    def get_urls(self):
        """The add view stops reading an upload at the import's size limit (as the API does)."""
        urls = super().get_urls()
        add = next(url for url in urls if url.name == self._url_name("add"))
        limited = path(
            "add/", with_upload_limit(self.admin_site.admin_view(self.add_view), limit=upload_size_limit), name=add.name
        )
        columns = path("add/columns/", self.admin_site.admin_view(self.columns_view), name=self._url_name("columns"))
        return [columns, *(limited if url is add else url for url in urls)]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.upload_over_limit = getattr(request, "upload_over_limit", False)
        form.upload_unusable = getattr(request, "upload_unusable", "")
        return form

    # --- step 1: an uploaded file is stored, then its columns are shown ---------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if request.method == "POST" and "upload" in request.FILES and self.has_add_permission(request):
            form = self.get_form(request)(request.POST, request.FILES)
            if form.is_valid() and form.service_kwargs.get("upload") is not None:
                response = self.storing_files(request, lambda: self.store_upload(request, form.service_kwargs))
                if response is not None:
                    return response
        return super().add_view(request, form_url, extra_context)

    def store_upload(self, request, inputs: dict):
        """Store the upload and send the user to its columns; None (and the reason noted) when it has none.

        A Google Merchant XML feed has nothing to map (its elements are Google's attributes): its
        import starts at once, as a URL's does."""
        upload = inputs["upload"]
        stored = product_import_store_pending_feed(content=upload)
        if looks_like_xml(self.opener(stored)):
            return self.start_xml_import(request, inputs, stored, (upload.name or "")[-255:])
        try:
            detect_format(self.opener(stored), verify=False)
        except FeedUnusable as exc:
            if not exc.header:
                pending_upload_discard(stored)
                request.upload_unusable = str(exc)
                return None
        state = {
            "feed": stored,
            "name": (upload.name or "")[-255:],
            "vendor": inputs["vendor"].pk,
            **{name: inputs.get(name) for name in ("marketplace", "dry_run", "deactivate_missing", "preset")},
        }
        token = signing.dumps(state, salt=UPLOAD_SALT, compress=True)
        columns_url = reverse(f"admin:{self._url_name('columns')}")
        return HttpResponseRedirect(f"{columns_url}?{urlencode({'upload': token})}")

    def start_xml_import(self, request, inputs: dict, stored: str, name: str):
        job = product_import_create(
            vendor=inputs["vendor"],
            triggered_by=triggered_by_admin(request),
            stored_feed=stored,
            source_name=name,
            marketplace=inputs.get("marketplace") or "letzshop",
            dry_run=bool(inputs.get("dry_run")),
            deactivate_missing=bool(inputs.get("deactivate_missing")),
        )
        self.log_addition(request, job, [{"added": {}}])
        return self.response_add(request, job)

    @staticmethod
    def opener(stored: str):
        return lambda: open_stream(stored)

    # --- step 2: the column mapping screen ---------------------------------------------------------

    def columns_view(self, request):
        """Show the stored upload's columns (preset, each column's field, key column, first rows); start the import."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            state = self.upload_state(request)
            return self.columns_screen(request, state)
        except UploadExpired as exc:
            return self.upload_again(request, str(exc))
        except FileNotFoundError:
            # Pruned while the screen was reading it.
            return self.upload_again(request, UPLOAD_EXPIRED_MESSAGE)

    def upload_again(self, request, message: str):
        """Back to the import form, saying why the file must be uploaded again."""
        self.message_user(request, message, messages.ERROR)
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('add')}"))

    def columns_screen(self, request, state: dict):
        vendor = Vendor.objects.filter(pk=state["vendor"]).first()
        if vendor is None:
            raise Http404("No such vendor.")
        started = self.model.objects.filter(vendor=vendor, source_file=state["feed"]).order_by("pk").first()
        if started is not None:
            # The page sent again (back button, a second click): one upload, one import.
            self.message_user(request, f"The import of this file has already started (#{started.pk}).", messages.INFO)
            return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}") + f"#job-{started.pk}")
        opener = self.opener(state["feed"])
        proposal = columns_proposal(vendor=vendor, opener=opener, preset=state.get("preset") or "")
        header = proposal.header
        key = proposal.key
        initial = {"preset": state.get("preset") or "", "shown_preset": state.get("preset") or ""}
        initial["key_column"] = header.index(key) if key in header else None
        columns = ColumnsForm(request.POST or None, header=header, initial=initial)
        formset = source_column_formset(
            header, data=request.POST or None, mapping=proposal.mapping, notes=proposal.notes
        )
        fmt, problem = proposal.fmt, proposal.problem
        if request.method == "POST" and columns.is_valid() and formset.is_valid():
            if columns.cleaned_data["preset"] != columns.cleaned_data["shown_preset"]:
                # Another preset: start over from its columns.
                return self.columns_restart(request, state, columns.cleaned_data["preset"])
            try:
                overrides = chosen_overrides(
                    header, columns, formset, baseline=proposal.baseline, baseline_key=proposal.baseline_key
                )
                fmt = detect_format(opener, verify=False, preset=proposal.preset or None, mapping=overrides)
            except (ValidationError, FeedUnusable) as exc:
                columns.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
                fmt, problem = None, ""
            else:
                if "_start" in request.POST:
                    return self.start_import(request, state, vendor, preset=proposal.preset, overrides=overrides, fmt=fmt)
                problem = ""
        return self.render_columns(request, state, vendor, proposal, columns, formset, fmt, problem)

    def upload_state(self, request) -> dict:
        """The stored upload the screen's link names; UploadExpired when it is gone or the link is not valid."""
        token = request.GET.get("upload", "")
        try:
            state = signing.loads(token, salt=UPLOAD_SALT, max_age=task_settings.PENDING_UPLOAD_HOURS * 3600)
        except signing.SignatureExpired:
            raise UploadExpired() from None
        except signing.BadSignature:
            raise UploadExpired(UPLOAD_LINK_INVALID) from None
        if not private_storage().exists(state["feed"]):
            raise UploadExpired()
        return state

    def columns_restart(self, request, state: dict, preset: str):
        token = signing.dumps({**state, "preset": preset}, salt=UPLOAD_SALT, compress=True)
        return HttpResponseRedirect(f"{request.path}?{urlencode({'upload': token})}")

    def start_import(self, request, state: dict, vendor, *, preset: str, overrides: dict[str, str], fmt):
        """Keep the mapping for the vendor's next files with these columns, and start the import
        (UploadExpired, nothing kept, when the upload was pruned meanwhile)."""
        with transaction.atomic():
            vendor_column_mapping_save(
                vendor=vendor, header=fmt.header, preset=preset, mapping=overrides, updated_by=triggered_by_admin(request)
            )
            job = product_import_create(
                vendor=vendor,
                triggered_by=triggered_by_admin(request),
                stored_feed=state["feed"],
                source_name=state["name"],
                marketplace=state.get("marketplace") or "letzshop",
                dry_run=bool(state.get("dry_run")),
                deactivate_missing=bool(state.get("deactivate_missing")),
                preset=preset,
                mapping=overrides,
            )
        self.log_addition(request, job, [{"added": {}}])
        return self.response_add(request, job)

    def render_columns(self, request, state, vendor, proposal, columns, formset, fmt, problem):
        if fmt is not None:
            fmt.currency = vendor.default_currency  # prices without a currency read as the import will
            preview_columns, preview_rows = feed_preview(self.opener(state["feed"]), fmt, rows=PREVIEW_ROWS)
        else:
            preview_columns, preview_rows = [], []
        preset = PRESETS.get(fmt.preset) if fmt and fmt.preset else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Map the file's columns",
            "opts": self.model._meta,
            "vendor": vendor,
            "source_name": state["name"],
            "dry_run": state.get("dry_run"),
            "preset": preset,
            "known_format": fmt is not None,
            "problem": problem,
            "saved": proposal.saved if fmt is not None else None,
            "columns_form": columns,
            "formset": formset,
            "rows": list(zip(proposal.header, formset.forms, strict=False)),
            "preview_columns": preview_columns,
            "preview_rows": preview_rows,
            "preview_size": PREVIEW_ROWS,
            "trigger_label": self.get_trigger_label(),
            "media": self.media + columns.media,
        }
        return TemplateResponse(request, "admin/imports/product_import_columns.html", context)

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TRIGGER_FIELDS)
        return super().get_fields(request, obj)


@admin.register(VendorColumnMapping)
class VendorColumnMappingAdmin(admin.ModelAdmin):
    """The vendors' saved column mappings: seen and deleted here, made on the import's mapping screen."""

    list_display = ("vendor", "preset", "updated_at", "updated_by")
    list_select_related = ("vendor",)
    search_fields = ("vendor__code", "vendor__name")
    readonly_fields = ("vendor", "preset", "mapping", "header_signature", "updated_at", "updated_by")

    def has_add_permission(self, request):
        return False
