from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from campaigns.models import Campaign, FloorQuota, OutcomeCode
from campaigns.services.campaigns import (
    EDITABLE_FIELDS,
    CampaignError,
    check_campaign,
    check_floor_quotas,
    create_campaign,
    set_floor_quotas,
    transition_campaign,
    update_campaign,
)
from campaigns.services.lists import request_list_build
from campaigns.services.outcomes import (
    DEFAULT_OUTCOME_CODES,
    OutcomeCodeError,
    check_outcome_code,
    save_outcome_code,
)

CLOSED_STATUSES = (Campaign.Status.FINISHED, Campaign.Status.CANCELLED)


def service_error(form: forms.BaseForm, exc: CampaignError) -> ValidationError:
    """The service's refusal as a form error on the field it names ("selection.regions" is shown on
    `selection`), or a non-field error when the form has no such field (e.g. `status`)."""
    field = exc.field.split(".", 1)[0].split("[", 1)[0]
    return ValidationError({field if field in form.fields else NON_FIELD_ERRORS: str(exc)})


class ServiceCheckedForm(forms.ModelForm):
    """A model form whose clean() runs the API's checks (`check_fields`, the service's own), so that
    save_model, which calls the same service, cannot fail, and a refusal shows on its field."""

    def check_fields(self, data: dict) -> dict:
        """The service's check of `data`; returns the values as the service would store them."""
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:  # a field already refused: its own message is the one to read
            return cleaned
        try:
            cleaned.update(self.check_fields({f: cleaned[f] for f in self._meta.fields if f in cleaned}))
        except CampaignError as exc:  # FloorError included, and the shared country and language checks
            raise service_error(self, exc) from None
        return cleaned


class CampaignForm(ServiceCheckedForm):
    class Meta:
        model = Campaign
        fields = list(EDITABLE_FIELDS)

    def check_fields(self, data: dict) -> dict:
        return check_campaign(data=data, campaign=None if self.instance._state.adding else self.instance)


_OUTCOME_FIELDS = ["code", "label", "category", "action", "retry_after_minutes", "max_retries"]


class OutcomeCodeForm(forms.ModelForm):
    class Meta:
        model = OutcomeCode
        fields = ["campaign", *_OUTCOME_FIELDS]

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


class OutcomeCodeFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if not self.instance._state.adding:
            return
        # `create_campaign` gives a new campaign the default codes before the inline rows are saved:
        # one of the same name would break the one-code-per-campaign constraint.
        defaults = {code for code, *_ in DEFAULT_OUTCOME_CODES}
        for form in self.forms:
            code = form.cleaned_data.get("code") if hasattr(form, "cleaned_data") else None
            if code in defaults and not self._should_delete_form(form):
                form.add_error(
                    "code", f"{code!r} is a default code every new campaign gets; edit it once saved."
                )


class _ClosedCampaignInline(admin.TabularInline):
    """A finished or cancelled campaign is closed to edits (`update_campaign`): its rows too."""

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.status in CLOSED_STATUSES)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.status in CLOSED_STATUSES)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.status in CLOSED_STATUSES)


class OutcomeCodeInline(_ClosedCampaignInline):
    model = OutcomeCode
    form = OutcomeCodeForm
    formset = OutcomeCodeFormSet
    extra = 0
    fields = _OUTCOME_FIELDS


class FloorQuotaFormSet(forms.BaseInlineFormSet):
    def quotas(self) -> dict:
        """Floor → percent of the rows kept (not marked for deletion), once the formset is valid."""
        return {
            form.cleaned_data["floor"]: form.cleaned_data["percent"]
            for form in self.forms
            if form.cleaned_data.get("floor") is not None and not self._should_delete_form(form)
        }

    def clean(self):
        super().clean()
        if any(self.errors):  # a row already refused: its own message is the one to read
            return
        try:
            # The API's rule (they add up to 100), so that save_formset's service call cannot fail.
            check_floor_quotas(self.quotas())
        except CampaignError as exc:
            raise ValidationError(str(exc)) from None


class FloorQuotaInline(_ClosedCampaignInline):
    model = FloorQuota
    formset = FloorQuotaFormSet
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
    form = CampaignForm
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

    def has_delete_permission(self, request, obj=None):
        # As over the API: only a draft without a list may go; any other campaign is cancelled
        # (an audited transition), so that its leads and attempts stay as proof.
        if obj is not None and (obj.status != Campaign.Status.DRAFT or obj.leads.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # "Delete selected" would bypass the per-campaign rule above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status in CLOSED_STATUSES:  # closed to edits: shown as they were
            return [*EDITABLE_FIELDS, "status"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS if f in form.cleaned_data}
        now = timezone.now()
        if change:
            saved = update_campaign(campaign=obj, data=data, actor=request.user, now=now)
        else:
            saved = create_campaign(data=data, actor=request.user, now=now)
        obj.pk = saved.pk
        obj.status = saved.status

    def save_formset(self, request, form, formset, change):
        if isinstance(formset, FloorQuotaFormSet):
            # The whole set through the service, which replaces the quotas and audits them.
            if formset.has_changed():
                set_floor_quotas(
                    campaign=form.instance, quotas=formset.quotas(), actor=request.user, now=timezone.now()
                )
            # The admin's change message reads these; the audit entry holds the quotas themselves.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        if isinstance(formset, OutcomeCodeFormSet):
            self._save_outcome_codes(request, form.instance, formset)
            return
        super().save_formset(request, form, formset, change)

    def _save_outcome_codes(self, request, campaign, formset):
        """Each added or changed code through `save_outcome_code`, audited as over the API."""
        now = timezone.now()
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            stored = row.instance if row.instance.pk else None
            if formset._should_delete_form(row):
                if stored is not None:  # the API deletes a code the same way (protected once used)
                    stored.delete()
                    formset.deleted_objects.append(stored)
                continue
            if not row.has_changed():
                continue
            fields = [f for f in row.changed_data if f in _OUTCOME_FIELDS] if stored else _OUTCOME_FIELDS
            code = save_outcome_code(
                campaign=campaign,
                data={f: row.cleaned_data[f] for f in fields},
                actor=request.user,
                now=now,
                # The form already wrote its values onto the instance: the service needs the stored row.
                instance=OutcomeCode.objects.get(pk=stored.pk) if stored else None,
            )
            if stored:
                formset.changed_objects.append((code, row.changed_data))
            else:
                formset.new_objects.append(code)

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
