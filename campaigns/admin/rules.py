from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from campaigns.models import CountryPolicy
from campaigns.services.policies import PolicyError, delete_policy, save_policy, validate_policy


class CountryPolicyForm(forms.ModelForm):
    class Meta:
        model = CountryPolicy
        fields = [f.name for f in CountryPolicy._meta.concrete_fields if f.name not in ("id", "updated_at")]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = self.instance
        for name, value in cleaned.items():
            # As the save will (an emptied JSON box becomes the field's default: config.fields).
            CountryPolicy._meta.get_field(name).save_form_data(candidate, value)
        try:
            validate_policy(candidate)
        except PolicyError as exc:
            field = exc.field.split("[", 1)[0]
            raise ValidationError(
                {field if field in self.fields else NON_FIELD_ERRORS: exc.message}
            ) from None
        return cleaned


@admin.register(CountryPolicy)
class CountryPolicyAdmin(admin.ModelAdmin):
    """Editable by admins only (managers hold the view permission); every save is audited by
    `campaigns.services.policies.save_policy`."""

    form = CountryPolicyForm
    list_display = [
        "country",
        "effective_from",
        "effective_to",
        "label",
        "legal_basis",
        "register",
        "frequency_max",
        "frequency_days",
        "recording_mode",
    ]
    list_filter = ["country", "legal_basis", "register", "recording_mode"]
    search_fields = ["country", "label", "sources"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["country", "effective_from", "effective_to", "label", "sources"]}),
        (
            "Calling days and hours (callee's local time)",
            {
                "fields": [
                    "windows",
                    "special_days",
                    "holiday_eve_windows",
                    "blocked_on_holidays",
                    "holiday_categories",
                    "holiday_subdivision_aliases",
                    "extra_blocked_dates",
                ]
            },
        ),
        ("Frequency", {"fields": ["frequency_max", "frequency_days", "refusal_quiet_days"]}),
        (
            "Legal basis and register",
            {
                "fields": [
                    "legal_basis",
                    "contract_exception",
                    "consent_max_age_days",
                    "register",
                    "register_max_age_days",
                    "register_consent_override",
                    "register_revokes_prior_consent",
                ]
            },
        ),
        (
            "Recording and retention",
            {
                "fields": [
                    "recording_mode",
                    "recording_retention_days",
                    "evaluation_retention_days",
                    "prospect_retention_days",
                    "updated_at",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        save_policy(policy=obj, actor=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        delete_policy(policy=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            delete_policy(policy=policy, actor=request.user, now=timezone.now())
