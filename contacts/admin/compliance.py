"""Admin of the compliance models. Every write goes through the services, so the admin audits and
validates exactly like the API; rows that are evidence (suppressions, consents, imports) are never
deleted from here."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.utils import timezone

from contacts.models import ConsentRecord, RegisterImport, Suppression
from contacts.services.consent import ConsentError, record_consent, update_consent, withdraw_consent
from contacts.services.erasure import erase_prospect
from contacts.services.registers import (
    RegisterImportError,
    create_register_import,
    fail_stalled_register_imports,
)
from contacts.services.suppression import (
    SuppressionError,
    lift_suppression,
    normalise_for_suppression,
    suppress_number,
)


class ServiceWriteAdminMixin:
    """The admin saves these models through services, which refuse bad input with their own
    exception. Django's admin would turn that into a 500 from `save_model`; here the refusal becomes
    an error message on the same page and the transaction around the save is rolled back, so
    nothing is written."""

    service_errors: tuple[type[Exception], ...] = ()

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except self.service_errors as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def adopt(obj, created) -> None:
        """Make the admin's unsaved `obj` the row the service created, so the admin's redirect and
        log entry point at it."""
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False


class SuppressionAddForm(forms.ModelForm):
    number = forms.CharField(max_length=64, help_text="Any spelling: +33 6 12…, 0612…, 0033…")
    default_country = forms.CharField(max_length=2, initial="FR")

    class Meta:
        model = Suppression
        fields = ["number", "default_country", "advertiser", "reason", "note", "expires_at"]

    def clean(self):
        data = super().clean()
        if data.get("number"):
            e164, why = normalise_for_suppression(
                data["number"], default_region=(data.get("default_country") or "").upper() or None
            )
            if e164 is None:
                self.add_error("number", why)
            data["e164"] = e164
        return data


@admin.register(Suppression)
class SuppressionAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    service_errors = (SuppressionError,)
    list_display = ["id", "e164", "scope", "advertiser", "reason", "source", "created_at", "expires_at"]
    list_filter = ["reason", "scope", "source"]
    search_fields = ["e164", "number_hash", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["advertiser"]
    readonly_fields = [
        "scope",
        "advertiser",
        "e164",
        "number_hash",
        "reason",
        "source",
        "note",
        "created_by",
        "created_at",
        "expires_at",
    ]
    actions = ["lift_selected"]
    show_full_result_count = False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = SuppressionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["number", "default_country", "advertiser", "reason", "note", "expires_at"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = suppress_number(
            e164=form.cleaned_data["e164"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            now=timezone.now(),
            advertiser=form.cleaned_data.get("advertiser"),
            source="admin",
            note=form.cleaned_data.get("note") or "",
            expires_at=form.cleaned_data.get("expires_at"),
        )
        self.adopt(obj, created)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift the selected suppressions now", permissions=["change"])
    def lift_selected(self, request, queryset):
        now = timezone.now()
        for suppression in queryset:
            lift_suppression(suppression=suppression, actor=request.user, now=now)
        messages.success(request, f"{queryset.count()} suppression(s) lifted.")


class RegisterImportAddForm(forms.ModelForm):
    upload = forms.FileField(help_text="The register file as the operator delivered it")

    class Meta:
        model = RegisterImport
        fields = ["register", "file_date", "upload"]


@admin.register(RegisterImport)
class RegisterImportAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    service_errors = (RegisterImportError,)
    list_display = [
        "id",
        "register",
        "file_date",
        "status",
        "is_current",
        "lines_total",
        "entries_count",
        "rejected_count",
        "created_at",
        "finished_at",
    ]
    list_filter = ["register", "status", "is_current"]
    readonly_fields = [
        "register",
        "file_name",
        "file_date",
        "status",
        "is_current",
        "lines_total",
        "entries_count",
        "rejected_count",
        "rejected_lines",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    ]

    # As in the API: a job whose process died is ended when jobs are looked at.
    def changelist_view(self, request, extra_context=None):
        fail_stalled_register_imports(now=timezone.now())
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        fail_stalled_register_imports(now=timezone.now())
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RegisterImportAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["register", "file_date", "upload"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        from contacts.tasks.compliance import run_register_import_task

        created = create_register_import(
            register=form.cleaned_data["register"],
            file_date=form.cleaned_data["file_date"],
            actor=request.user,
            now=timezone.now(),
            upload=form.cleaned_data["upload"],
        )
        transaction.on_commit(lambda: run_register_import_task.delay(created.pk))
        self.adopt(obj, created)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    service_errors = (ConsentError,)
    list_display = [
        "id",
        "prospect",
        "advertiser",
        "purpose",
        "basis",
        "given_at",
        "withdrawn_at",
        "valid_until",
    ]
    list_filter = ["purpose", "basis", "channel"]
    search_fields = ["prospect__last_name", "contract_ref"]
    raw_id_fields = ["prospect"]
    list_select_related = ["prospect", "advertiser"]
    actions = ["withdraw_selected"]
    EDITABLE = ["channel", "evidence", "contract_ref", "valid_until"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["withdrawn_at", "last_used_at"]
        return ["prospect", "advertiser", "purpose", "basis", "given_at", "withdrawn_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if change:
            changes = {k: form.cleaned_data[k] for k in self.EDITABLE if k in form.changed_data}
            if changes:
                update_consent(
                    consent=ConsentRecord.objects.get(pk=obj.pk), actor=request.user, now=now, **changes
                )
            return
        created = record_consent(
            prospect=form.cleaned_data["prospect"],
            advertiser=form.cleaned_data["advertiser"],
            given_at=form.cleaned_data["given_at"],
            actor=request.user,
            now=now,
            purpose=form.cleaned_data["purpose"],
            basis=form.cleaned_data["basis"],
            contract_ref=form.cleaned_data.get("contract_ref") or "",
            channel=form.cleaned_data.get("channel") or "",
            evidence=form.cleaned_data.get("evidence") or {},
            valid_until=form.cleaned_data.get("valid_until"),
        )
        self.adopt(obj, created)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Withdraw the selected consents now", permissions=["change"])
    def withdraw_selected(self, request, queryset):
        now = timezone.now()
        for consent in queryset:
            withdraw_consent(consent=consent, actor=request.user, now=now)
        messages.success(request, f"{queryset.count()} consent(s) withdrawn.")


def _erase(request, queryset, *, objected: bool) -> None:
    now = timezone.now()
    count = 0
    for prospect in queryset.filter(erased_at__isnull=True):
        erase_prospect(prospect=prospect, actor=request.user, now=now, objected=objected)
        count += 1
    messages.success(request, f"{count} prospect(s) erased.")


@admin.action(description="Erase the selected prospects (GDPR art. 17)", permissions=["erase"])
def erase_prospects_action(modeladmin, request, queryset):
    _erase(request, queryset, objected=False)


@admin.action(
    description="Erase the selected prospects and keep their numbers suppressed (objection, art. 21)",
    permissions=["erase"],
)
def erase_and_suppress_action(modeladmin, request, queryset):
    _erase(request, queryset, objected=True)
