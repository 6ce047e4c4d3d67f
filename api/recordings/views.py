"""Recordings, recording notices, campaign retention and the compliance reports (issue 7).

Views validate, call one service or selector, serialize. Playback is its own permission
(`campaigns.play_recording`) and every playback is audited; a purged recording answers 410.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.parsers import FormParser, JSONParser, MultiPartParser
from api.recordings.serializers import (
    CampaignRecordingPolicySerializer,
    DueForPurgeSerializer,
    NonCompliantAttemptSerializer,
    NoticeChangeSerializer,
    NoticePublishSerializer,
    NoticesPlayedRowSerializer,
    PurgeSerializer,
    RecordingNoticeSerializer,
    RecordingSerializer,
    RecordingUploadSerializer,
)
from api.scoping import FloorScopedMixin
from campaigns.models import Attempt, CampaignRecordingPolicy, Recording, RecordingNotice
from campaigns.playback import playback_response
from campaigns.selectors.recordings import (
    DUE_SOON_DAYS,
    non_compliant_attempts,
    notices_played_report,
    playable_recordings,
    recordings_due_for_purge,
    recordings_due_summary,
)
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.notices import change_notice, publish_notice, retire_notice
from campaigns.services.recordings import (
    RecordingAudioMissing,
    RecordingRefused,
    attach_recording,
    open_for_playback,
    purge_recording_now,
    set_campaign_retention,
)
from config.db import MAX_ID

REPORT_PERMS = ["campaigns.view_recording_report"]


def _django_error(exc: DjangoValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


class ReportFilterSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Attempts started at or after (ISO 8601)")
    end = serializers.DateTimeField(required=False, help_text="Attempts started before (ISO 8601)")
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class DueFilterSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=366, default=DUE_SOON_DAYS)


def _attempts_for(user):
    """The attempts a caller may attach a recording to: its floors, and for a dialler only its own
    attempts (or agents' ones on its floors, which carry no integration)."""
    attempts = Attempt.objects.all()
    floors = floor_ids_for(user)
    if floors is not None:
        attempts = attempts.filter(floor_id__in=floors)
    try:
        integration = user.dialler_integration
    except Exception:  # RelatedObjectDoesNotExist: a person, not a dialler credential
        integration = None
    if integration is not None:
        attempts = attempts.filter(Q(integration=integration) | Q(integration__isnull=True))
    return attempts


class RecordingViewSet(
    FloorScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Recordings of the caller's floors. Diallers POST a file (multipart: WAV, MP3 or Ogg, else a
    400 naming `file`) or a `uri` (JSON) for one of their attempts; refused recordings (objection,
    no consent in DE, purged) answer 409 with a stable `code`. Playback:
    `GET /recordings/{id}/audio/` (audited; 410 once purged)."""

    queryset = playable_recordings()
    serializer_class = RecordingSerializer
    floor_field = "attempt__floor"
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {
        "audio": ["campaigns.play_recording"],
        "purge": ["campaigns.delete_recording"],
        "notices_played": REPORT_PERMS,
        "non_compliant": REPORT_PERMS,
        "due_for_purge": REPORT_PERMS,
    }
    filterset_fields = ["country", "attempt", "purge_reason"]
    ordering_fields = ["created_at", "purge_after"]

    @extend_schema(
        request=RecordingUploadSerializer, responses={201: RecordingSerializer, 200: RecordingSerializer}
    )
    def create(self, request, *args, **kwargs):
        serializer = RecordingUploadSerializer(data=request.data, attempts=_attempts_for(request.user))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        already = Recording.objects.filter(attempt=data["attempt"]).exists()
        try:
            recording = attach_recording(
                attempt=data["attempt"],
                file=data.get("file"),
                uri=data.get("uri", ""),
                duration_seconds=data.get("duration_seconds"),
                size_bytes=data.get("size_bytes"),
                checksum=data.get("checksum", ""),
                payment_data_spoken=data.get("payment_data_spoken", False),
                actor=request.user,
                now=timezone.now(),
            )
        except RecordingRefused as exc:
            return Response({"detail": exc.messages[0], "code": exc.reason}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:  # a file that is not an accepted audio format
            return _django_error(exc)
        return Response(
            RecordingSerializer(recording).data,
            status=status.HTTP_200_OK if already else status.HTTP_201_CREATED,
        )

    @extend_schema(
        responses={(200, "audio/*"): OpenApiTypes.BINARY, 404: OpenApiTypes.OBJECT, 410: OpenApiTypes.OBJECT}
    )
    @action(detail=True, methods=["get"])
    def audio(self, request, pk=None):
        """Stream the recording (or redirect to the dialler's URI). Audited; 410 once purged."""
        recording = self.get_object()
        if recording.purged_at is not None:
            return Response(
                {
                    "detail": f"Recording {recording.pk} was purged on {recording.purged_at.isoformat()} "
                    f"({recording.get_purge_reason_display()}).",
                    "purged_at": recording.purged_at,
                    "purge_reason": recording.purge_reason,
                },
                status=status.HTTP_410_GONE,
            )
        try:
            playback = open_for_playback(
                recording=recording, actor=request.user, now=timezone.now(), channel="api"
            )
        except RecordingAudioMissing as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        if playback is None:
            return HttpResponseRedirect(recording.uri)
        return playback_response(playback)

    @extend_schema(request=PurgeSerializer, responses={200: RecordingSerializer})
    @action(detail=True, methods=["post"])
    def purge(self, request, pk=None):
        """Destroy this recording now (payment card data spoken, or a request). Idempotent."""
        recording = self.get_object()
        serializer = PurgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        purge_recording_now(
            recording=recording,
            reason=serializer.validated_data["reason"],
            actor=request.user,
            now=timezone.now(),
        )
        recording.refresh_from_db()
        return Response(RecordingSerializer(recording).data)

    @extend_schema(
        parameters=[ReportFilterSerializer], responses={200: NoticesPlayedRowSerializer(many=True)}
    )
    @action(detail=False, methods=["get"], url_path="reports/notices-played")
    def notices_played(self, request):
        """Per callee country and campaign: reached, notices played, answers, non-compliant."""
        filters = ReportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = notices_played_report(
            start=filters.validated_data.get("start"),
            end=filters.validated_data.get("end"),
            campaign_id=filters.validated_data.get("campaign"),
            floors=floor_ids_for(request.user),
        )
        return Response(NoticesPlayedRowSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[ReportFilterSerializer], responses={200: NonCompliantAttemptSerializer(many=True)}
    )
    @action(detail=False, methods=["get"], url_path="reports/non-compliant")
    def non_compliant(self, request):
        """Attempts that reached the callee without a played notice, newest first."""
        filters = ReportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = non_compliant_attempts(
            start=filters.validated_data.get("start"),
            end=filters.validated_data.get("end"),
            campaign_id=filters.validated_data.get("campaign"),
            floors=floor_ids_for(request.user),
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NonCompliantAttemptSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="Horizon in days (default 7)")],
        responses={200: DueForPurgeSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="reports/due-for-purge")
    def due_for_purge(self, request):
        """Recordings the purge will destroy within `days` (overdue ones first), with a count per
        country and day in `summary`."""
        filters = DueFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        now, days, floors = timezone.now(), filters.validated_data["days"], floor_ids_for(request.user)
        page = self.paginate_queryset(recordings_due_for_purge(now=now, days=days, floors=floors))
        response = self.get_paginated_response(DueForPurgeSerializer(page, many=True).data)
        response.data["summary"] = [
            {**row, "day": row["day"].isoformat()}
            for row in recordings_due_summary(now=now, days=days, floors=floors)
        ]
        return response


class RecordingNoticeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Recording notices per country and language. A notice is never edited: `new-version`
    publishes the next version (past attempts keep theirs); `retire` stops offering one."""

    queryset = RecordingNotice.objects.all()
    serializer_class = RecordingNoticeSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {
        "new_version": ["campaigns.change_recordingnotice"],
        "retire": ["campaigns.change_recordingnotice"],
    }
    filterset_fields = ["country", "language", "mode", "active"]
    ordering_fields = ["country", "language", "version", "effective_from"]

    @extend_schema(request=NoticePublishSerializer, responses={201: RecordingNoticeSerializer})
    def create(self, request, *args, **kwargs):
        serializer = NoticePublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            notice = publish_notice(**serializer.validated_data, actor=request.user, now=timezone.now())
        except DjangoValidationError as exc:
            return _django_error(exc)
        return Response(RecordingNoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoticeChangeSerializer, responses={201: RecordingNoticeSerializer})
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        notice = self.get_object()
        serializer = NoticeChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            new = change_notice(
                notice=notice, actor=request.user, now=timezone.now(), **serializer.validated_data
            )
        except DjangoValidationError as exc:
            return _django_error(exc)
        return Response(RecordingNoticeSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: RecordingNoticeSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        notice = retire_notice(notice=self.get_object(), actor=request.user, now=timezone.now())
        return Response(RecordingNoticeSerializer(notice).data)


class CampaignRecordingPolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """A campaign's own, shorter recording retention. POST sets or replaces it (audited)."""

    queryset = CampaignRecordingPolicy.objects.select_related("campaign").order_by("campaign_id")
    serializer_class = CampaignRecordingPolicySerializer
    filterset_fields = ["campaign"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            policy = set_campaign_retention(
                campaign=serializer.validated_data["campaign"],
                retention_days=serializer.validated_data["retention_days"],
                actor=request.user,
                now=timezone.now(),
            )
        except DjangoValidationError as exc:
            return _django_error(exc)
        return Response(self.get_serializer(policy).data, status=status.HTTP_201_CREATED)
