from django.contrib import admin

from contacts.admin.compliance import erase_and_suppress_action, erase_prospects_action
from contacts.models import Advertiser, PhoneNumber, Prospect


@admin.register(Advertiser)
class AdvertiserAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0
    fields = ["e164", "raw", "region", "number_type", "time_zone", "is_valid"]
    readonly_fields = fields


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "last_name",
        "first_name",
        "country",
        "language",
        "source",
        "is_customer",
        "erased_at",
    ]
    list_filter = ["country", "language", "is_customer", "source"]
    search_fields = ["last_name", "first_name", "email", "external_ref", "numbers__e164"]
    inlines = [PhoneNumberInline]
    actions = [erase_prospects_action, erase_and_suppress_action]
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over millions of prospects on every page is wasted work

    def has_delete_permission(self, request, obj=None):
        # Erasure (the actions above) is how a prospect leaves: it keeps the audit entry, the
        # objection's hash and the anonymised attempts that a hard delete would lose.
        return False

    def has_erase_permission(self, request):
        """The erase actions: granted with the model's delete permission, which means erase here."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    def get_readonly_fields(self, request, obj=None):
        # Erasure is set by the erase actions only (audited, with the suppression they may add):
        # typed here, it marked a prospect erased with its data kept, or undid an erasure.
        return ["erased_at", "last_contact_at"]

    def has_change_permission(self, request, obj=None):
        # An erased prospect stays erased: a change form could type its personal data back in.
        if obj is not None and obj.erased_at is not None:
            return False
        return super().has_change_permission(request, obj)
