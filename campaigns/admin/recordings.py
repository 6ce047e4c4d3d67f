"""Admin for notices (a change publishes a new version), recordings (view, audited playback,
purge) and the compliance reports page."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import CampaignRecordingPolicy, Recording, RecordingNotice
from campaigns.playback import playback_response
from campaigns.selectors.notices import country_day
from campaigns.selectors.recordings import (
    DUE_SOON_DAYS,
    non_compliant_attempts,
    notices_played_report,
    recordings_due_for_purge,
)
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.notices import (
    CHANGEABLE_FIELDS,
    change_notice,
    check_notice,
    publish_notice,
)
from campaigns.services.policies import MAX_DAYS
from campaigns.services.recordings import (
    RecordingAudioMissing,
    open_for_playback,
    purge_recording_now,
    set_campaign_retention,
)


class RecordingNoticeForm(forms.ModelForm):
    class Meta:
        model = RecordingNotice
        fields = ["country", "language", "mode", "text", "audio", "effective_from", "effective_to", "active"]

    def clean(self):
        """The rules `publish_notice` applies (country, language, mode, text, dates, audio), so that
        a refusal shows on its field instead of a 403 from `save_model`."""
        cleaned = super().clean()
        audio = cleaned.get("audio")
        notice = self.instance
        if notice._state.adding:
            country, language = cleaned.get("country"), cleaned.get("language")
            effective_from, effective_to = cleaned.get("effective_from"), cleaned.get("effective_to")
        else:  # what `change_notice` will publish: country and language are the notice's own
            country, language = notice.country, notice.language
            effective_from = cleaned.get("effective_from") if "effective_from" in self.changed_data else None
            effective_from = effective_from or max(
                notice.effective_from, country_day(notice.country, timezone.now())
            )
            keep_to = (
                notice.effective_to if notice.effective_to and notice.effective_to >= effective_from else None
            )
            effective_to = cleaned.get("effective_to") if "effective_to" in self.changed_data else keep_to
        try:
            check_notice(
                country=(country or "").upper(),
                language=(language or "").lower(),
                mode=cleaned.get("mode"),
                text=cleaned.get("text"),
                effective_from=effective_from,
                effective_to=effective_to,
                audio=audio if isinstance(audio, UploadedFile) else None,  # only a new upload is checked
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field in self.errors:  # the field's own message is the one to read
                    continue
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(RecordingNotice)
class RecordingNoticeAdmin(admin.ModelAdmin):
    """Saving a changed notice publishes the next version; the one attempts played stays as it was."""

    form = RecordingNoticeForm

    list_display = ["country", "language", "version", "mode", "effective_from", "effective_to", "active"]
    list_filter = ["country", "language", "mode", "active"]
    search_fields = ["text"]
    readonly_fields = ["version", "created_at"]
    fields = [
        "country",
        "language",
        "version",
        "mode",
        "text",
        "audio",
        "effective_from",
        "effective_to",
        "active",
        "created_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # another country or language is another notice, not a version
            return [*self.readonly_fields, "country", "language"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # attempts point at the versions they played: proof is never deleted

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        data = form.cleaned_data
        try:
            if change:
                original = RecordingNotice.objects.get(pk=obj.pk)
                changes = {name: data[name] for name in form.changed_data if name in CHANGEABLE_FIELDS}
                if changes.get("audio") is False:  # "clear" ticked: the new version has no audio
                    changes["audio"] = None
                new = change_notice(notice=original, actor=request.user, now=now, **changes)
            else:
                new = publish_notice(
                    country=data["country"],
                    language=data["language"],
                    mode=data["mode"],
                    text=data["text"],
                    audio=data.get("audio") or None,
                    effective_from=data["effective_from"],
                    effective_to=data.get("effective_to"),
                    actor=request.user,
                    now=now,
                )
        except ValidationError as exc:
            raise PermissionDenied("; ".join(exc.messages)) from exc
        # The admin then redirects to (and logs) the version that was actually published.
        obj.pk, obj.version, obj.country, obj.language = new.pk, new.version, new.country, new.language
        obj._state.adding = False
        if change:
            messages.info(request, f"Published as version {new.version}; version {original.version} is kept.")


class CampaignRecordingPolicyForm(forms.ModelForm):
    class Meta:
        model = CampaignRecordingPolicy
        fields = ["campaign", "retention_days"]

    def clean_retention_days(self):
        days = self.cleaned_data["retention_days"]
        # The bound `set_campaign_retention` enforces (and the API answers 400 with): refused here
        # on the field, instead of a ValidationError out of save_model.
        if days is not None and days > MAX_DAYS:
            raise ValidationError(f"Must be at most {MAX_DAYS} days (100 years).")
        return days


@admin.register(CampaignRecordingPolicy)
class CampaignRecordingPolicyAdmin(admin.ModelAdmin):
    form = CampaignRecordingPolicyForm
    list_display = ["campaign", "retention_days", "updated_at"]
    autocomplete_fields: list = []
    raw_id_fields = ["campaign"]

    def save_model(self, request, obj, form, change):
        policy = set_campaign_retention(
            campaign=obj.campaign, retention_days=obj.retention_days, actor=request.user, now=timezone.now()
        )
        obj.pk = policy.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        set_campaign_retention(
            campaign=obj.campaign, retention_days=None, actor=request.user, now=timezone.now()
        )

    def delete_queryset(self, request, queryset):
        # "Delete selected" calls this, not delete_model: each removal is audited the same way.
        now = timezone.now()
        for policy in queryset.select_related("campaign"):
            set_campaign_retention(campaign=policy.campaign, retention_days=None, actor=request.user, now=now)


@admin.register(Recording)
class RecordingAdmin(FloorScopedAdminMixin, admin.ModelAdmin):
    """Read-only: recordings come from diallers. Playback needs `play_recording` and is audited."""

    floor_field = "attempt__floor"
    list_display = [
        "id",
        "attempt",
        "country",
        "duration_seconds",
        "created_at",
        "purge_after",
        "purged_at",
        "purge_reason",
        "play_link",
    ]
    list_filter = ["country", "purge_reason", ("purged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["attempt"]
    date_hierarchy = "purge_after"
    actions = ["purge_now"]
    readonly_fields = [
        "attempt",
        "country",
        "uri",
        "duration_seconds",
        "size_bytes",
        "checksum",
        "created_at",
        "created_by",
        "purge_after",
        "purged_at",
        "purge_reason",
        "play_link",
    ]
    exclude = ["file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a recording is destroyed by a purge, which keeps the row as proof

    def has_purge_permission(self, request):
        return request.user.has_perm("campaigns.delete_recording")

    @admin.display(description="Audio")
    def play_link(self, obj):
        if obj.purged_at is not None:
            return "purged"
        if not (obj.file or obj.uri):
            return "—"
        return format_html('<a href="{}">play</a>', reverse("admin:campaigns_recording_play", args=[obj.pk]))

    @admin.action(description="Purge the selected recordings now (audited)", permissions=["purge"])
    def purge_now(self, request, queryset):
        now = timezone.now()
        purged = sum(
            purge_recording_now(recording=recording, reason="manual", actor=request.user, now=now)
            for recording in queryset
        )
        self.message_user(request, f"{purged} recording(s) purged.")

    def get_urls(self):
        return [
            path(
                "<int:pk>/play/",
                self.admin_site.admin_view(self.play_view),
                name="campaigns_recording_play",
            ),
            path(
                "reports/",
                self.admin_site.admin_view(self.reports_view),
                name="campaigns_recording_reports",
            ),
            *super().get_urls(),
        ]

    def play_view(self, request, pk):
        if not request.user.has_perm("campaigns.play_recording"):
            raise PermissionDenied
        recording = get_object_or_404(self.get_queryset(request), pk=pk)
        if recording.purged_at is not None:
            return HttpResponse(
                f"Recording {recording.pk} was purged on {recording.purged_at:%Y-%m-%d %H:%M} UTC.",
                status=410,
                content_type="text/plain",
            )
        try:
            playback = open_for_playback(
                recording=recording, actor=request.user, now=timezone.now(), channel="admin"
            )
        except RecordingAudioMissing as exc:
            return HttpResponse(str(exc), status=404, content_type="text/plain")
        if playback is None:
            return HttpResponseRedirect(recording.uri)
        return playback_response(playback)

    def reports_view(self, request):
        if not request.user.has_perm("campaigns.view_recording_report"):
            raise PermissionDenied
        floors = floor_ids_for(request.user)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "title": "Notices and recording retention",
            "opts": self.model._meta,
            "notices_played": notices_played_report(floors=floors),
            "non_compliant": non_compliant_attempts(floors=floors)[:200],
            "due": recordings_due_for_purge(now=now, floors=floors)[:200],
            "due_days": DUE_SOON_DAYS,
        }
        return TemplateResponse(request, "admin/campaigns/recording/reports.html", context)
