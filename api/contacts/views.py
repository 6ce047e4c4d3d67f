import logging

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.parsers import FormParser, MultiPartParser
from contacts.selectors.prospects import import_jobs_visible_to, prospect_detail_queryset, prospect_list
from contacts.services.audit import audit
from contacts.services.import_files import ImportFileError
from contacts.services.imports import check_import_file, create_import_job, start_import

from .serializers import (
    ImportJobSerializer,
    ImportUploadSerializer,
    ProspectDetailSerializer,
    ProspectListSerializer,
)

logger = logging.getLogger(__name__)


class ProspectViewSet(viewsets.ReadOnlyModelViewSet):
    """Prospects. The list carries no names, e-mails or numbers; every list page and every detail is
    audited (DOMAIN promise 8: bulk access to personal data is attributable)."""

    filterset_fields = ["country", "language", "source", "is_customer", "region"]
    ordering_fields = ["id", "created_at", "updated_at", "last_contact_at"]
    search_fields: list[str] = []

    def get_queryset(self):
        if self.action == "retrieve":
            return prospect_detail_queryset(user=self.request.user)
        return prospect_list(user=self.request.user)

    def get_serializer_class(self):
        return ProspectDetailSerializer if self.action == "retrieve" else ProspectListSerializer

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        results = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        audit(
            request.user,
            "contacts.prospects.listed",
            None,
            {"filters": dict(request.query_params.lists()), "returned": len(results)},
            at=timezone.now(),
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        prospect = self.get_object()
        audit(request.user, "contacts.prospect.viewed", prospect, at=timezone.now())
        return Response(ProspectDetailSerializer(prospect).data)


class ImportJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Prospect file imports. Uploading answers 202 with the job; small files are already done,
    large ones run in the background: poll the job for status, progress and counts."""

    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["status", "source"]
    ordering_fields = ["created_at"]
    # Reports hold raw rows of personal data: viewing them needs the prospect permission too.
    required_permissions = {
        "report": ["contacts.view_importjob", "contacts.view_prospect"],
        "outcomes": ["contacts.view_importjob", "contacts.view_prospect"],
    }

    def get_queryset(self):
        return import_jobs_visible_to(self.request.user)

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        if len(request.FILES.getlist("file")) > 1:
            # Only the last would be imported: the client must choose.
            return Response(
                {"file": [f"one file per import: this request has {len(request.FILES.getlist('file'))}"]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        uploaded = data["file"]
        try:
            check_import_file(stream=uploaded, mapping=data["mapping"])
        except ImportFileError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        now = timezone.now()
        job = create_import_job(
            actor=request.user,
            now=now,
            uploaded_file=uploaded,
            original_name=uploaded.name,
            source=data["source"],
            default_country=data["default_country"],
            mapping=data["mapping"],
        )
        job = start_import(job=job, now=now)
        return Response(
            ImportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )

    def _download(self, request, attr: str, kind: str):
        job = self.get_object()
        stored = getattr(job, attr)
        if not stored:
            return Response({"detail": f"The {kind} is not ready yet."}, status=status.HTTP_404_NOT_FOUND)
        try:
            content = stored.open("rb")
        except FileNotFoundError:
            # Produced, then lost from storage: say so; nothing was downloaded, so nothing is audited.
            logger.exception("import %s: %s file %s missing from storage", job.pk, kind, stored.name)
            return Response(
                {"detail": f"The {kind} of import {job.pk} is missing from storage."},
                status=status.HTTP_404_NOT_FOUND,
            )
        audit(request.user, f"contacts.import.{kind}_downloaded", job, at=timezone.now())
        return FileResponse(
            content,
            as_attachment=True,
            filename=f"import-{job.pk}-{kind}.csv",
            content_type="text/csv",
        )

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(description="rejected rows: line, reason, raw")}
    )
    @action(detail=True, methods=["get"], url_name="report")
    def report(self, request, pk=None):
        return self._download(request, "report", "report")

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="one line per row")})
    @action(detail=True, methods=["get"], url_name="outcomes")
    def outcomes(self, request, pk=None):
        return self._download(request, "outcomes", "outcomes")
