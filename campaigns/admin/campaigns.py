from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign, FloorQuota, OutcomeCode
from campaigns.services.campaigns import (
    EDITABLE_FIELDS,
    CampaignError,
    create_campaign,
    transition_campaign,
    update_campaign,
)
from campaigns.services.lists import request_list_build
from campaigns.services.outcomes import OutcomeCodeError, check_outcome_code


class OutcomeCodeForm(forms.ModelForm):
    class Meta:
        model = OutcomeCode
        fields = ["campaign", "code", "label", "category", "action", "retry_after_minutes", "max_retries"]

    def clean(self):
        data = super().clean()
        if self.errors:  # a field already refused: its own message is the one to read
            return data
        # The rules the API applies (a do-not-call outcome suppresses, a retry has a bounded delay).
        try:
            check_outcome_code(data)
        except OutcomeCodeError as exc:
            raise ValidationError({exc.field: str(exc)}) from None
        return data


class OutcomeCodeInline(admin.TabularInline):
    model = OutcomeCode
    form = OutcomeCodeForm
    extra = 0
    fields = ["code", "label", "category", "action", "retry_after_minutes", "max_retries"]


class FloorQuotaInline(admin.TabularInline):
    model = FloorQuota
    extra = 0
    fields = ["floor", "percent"]


def _transition_action(to: str, label: str):
    def act(modeladmin, request, queryset):
        now = timezone.now()
        done = 0
        for campaign in queryset:
            try:
                transition_campaign(campaign=campaign, to=to, actor=request.user, now=now)
                done += 1
            except CampaignError as exc:
                modeladmin.message_user(request, f"{campaign}: {exc}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} campaign(s) {label.lower()}.", messages.SUCCESS)

    act.__name__ = f"make_{to}"
    return admin.action(description=label, permissions=["change"])(act)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns. The status is read-only here: the actions apply transitions (audited); edits go
    through the campaign services so the selection is validated the same way as over the API."""

    list_display = ["name", "kind", "advertiser", "status", "starts_on", "ends_on", "priority"]
    list_filter = ["status", "kind", "advertiser"]
    search_fields = ["name", "product"]
    fields = [*EDITABLE_FIELDS, "status"]
    readonly_fields = ["status"]
    inlines = [OutcomeCodeInline, FloorQuotaInline]
    actions = [
        _transition_action("ready", "Mark ready"),
        _transition_action("running", "Start / resume"),
        _transition_action("paused", "Pause"),
        _transition_action("finished", "Finish"),
        _transition_action("cancelled", "Cancel"),
        "build_lists",
    ]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS if f in form.cleaned_data}
        now = timezone.now()
        if change:
            saved = update_campaign(campaign=obj, data=data, actor=request.user, now=now)
        else:
            saved = create_campaign(data=data, actor=request.user, now=now)
        obj.pk = saved.pk
        obj.status = saved.status

    @admin.action(description="Build or rebuild the call list", permissions=["change"])
    def build_lists(self, request, queryset):
        now = timezone.now()
        for campaign in queryset:
            try:
                job, created = request_list_build(campaign=campaign, actor=request.user, now=now)
            except CampaignError as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
                continue
            state = "queued" if created else "already running"
            self.message_user(request, f"{campaign}: list {job.kind} #{job.pk} {state}.", messages.SUCCESS)
