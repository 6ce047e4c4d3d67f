"""Suppression list, national register imports, consent records and erasure requests.

Managers only (see campaigns/roles.py): agents and diallers never list suppressions; diallers get
the suppression change feed from the dialler area.
"""

import csv
import io

import django_filters
from django.db import transaction
from django.db.models import BooleanField, Case, Q, Value, When
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api.compliance.serializers import (
    ConsentRecordSerializer,
    ConsentUpdateSerializer,
    ErasureResultSerializer,
    ErasureSerializer,
    RegisterImportCreateSerializer,
    RegisterImportSerializer,
    SuppressionCreateSerializer,
    SuppressionSerializer,
    SuppressionUploadResultSerializer,
    SuppressionUploadSerializer,
)
from api.parsers import FormParser, JSONParser, MultiPartParser
from contacts.models import ConsentRecord, Prospect, RegisterImport, Suppression
from contacts.services.consent import ConsentError, record_consent, update_consent, withdraw_consent
from contacts.services.erasure import erase_prospect
from contacts.services.import_files import is_phone_header
from contacts.services.registers import (
    RegisterImportError,
    create_register_import,
    fail_stalled_register_imports,
)
from contacts.services.suppression import (
    MAX_UPLOAD_LINES,
    NUMBER_HEADERS,
    SuppressionError,
    bulk_suppress_numbers,
    lift_suppression,
    normalise_for_suppression,
    suppress_number,
)
from contacts.tasks.compliance import run_register_import_task


def _active_annotation(now):
    return Case(
        When(Q(expires_at__isnull=True) | Q(expires_at__gt=now), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


class SuppressionFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Suppression
        fields = ["reason", "scope", "advertiser", "source", "e164", "number_hash"]


class SuppressionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The internal do-not-call list. Rows are never deleted or edited: `lift` ends one."""

    queryset = Suppression.objects.select_related("created_by")
    serializer_class = SuppressionSerializer
    filterset_class = SuppressionFilter
    ordering_fields = ["created_at", "expires_at"]
    search_fields = ["e164", "note", "source"]
    # Diallers hold view_suppression for their change feed (api/diallers), which returns only what
    # changed since their cursor; browsing and searching the whole list (numbers, notes, who) is for
    # people who manage it, hence view + change.
    required_permissions = {
        "list": ["contacts.view_suppression", "contacts.change_suppression"],
        "retrieve": ["contacts.view_suppression", "contacts.change_suppression"],
        "lift": ["contacts.change_suppression"],
        "upload": ["contacts.add_suppression"],
    }

    def get_queryset(self):
        return super().get_queryset().annotate(is_active=_active_annotation(timezone.now()))

    @extend_schema(request=SuppressionCreateSerializer, responses={201: SuppressionSerializer})
    def create(self, request, *args, **kwargs):
        form = SuppressionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        e164, why = normalise_for_suppression(data["number"], default_region=data["default_country"].upper())
        if e164 is None:
            return Response({"number": [why]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            suppression = suppress_number(
                e164=e164,
                reason=data["reason"],
                actor=request.user,
                now=timezone.now(),
                advertiser=data.get("advertiser"),
                source="api",
                note=data["note"],
                expires_at=data["expires_at"],
            )
        except SuppressionError as exc:
            field, _, message = str(exc).partition(": ")
            return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            SuppressionSerializer(self.get_queryset().get(pk=suppression.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={200: SuppressionSerializer})
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        suppression = self.get_object()
        lift_suppression(suppression=suppression, actor=request.user, now=timezone.now())
        return Response(SuppressionSerializer(self.get_queryset().get(pk=suppression.pk)).data)

    @extend_schema(request=SuppressionUploadSerializer, responses={200: SuppressionUploadResultSerializer})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request):
        """Suppress every number of a CSV/text file; bad lines come back with their line numbers.

        Up to 100,000 lines and 32 MB (a larger file is refused, never cut). Numbers are committed
        500 at a time, each batch audited with its lines: a list cut short by a failure is finished
        by uploading it again (suppressing is idempotent)."""
        if len(request.FILES.getlist("file")) > 1:
            # Only the last would be read: the client must choose.
            return Response(
                {"file": [f"one file per upload: this request has {len(request.FILES.getlist('file'))}"]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        form = SuppressionUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            rows = _numbers_of(data["file"])
        except ValueError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        result = bulk_suppress_numbers(
            rows=rows,
            default_region=data["default_country"].upper(),
            reason=data["reason"],
            actor=request.user,
            now=timezone.now(),
            advertiser=data.get("advertiser"),
            source="upload",
            note=data["note"],
        )
        return Response(SuppressionUploadResultSerializer(result).data)


# 100,000 lines of a phone number and a few more columns (a name, a date, a reason).
MAX_UPLOAD_BYTES = 32 * 2**20


def _records(reader):
    """(first line, record) of each record, with a malformed record (a quoted cell over the csv
    module's limit, a quote never closed) reported as the file's error at the line it starts on,
    as the prospect import does, rather than raised as a 500 or swallowed into one cell."""
    last = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):  # strict mode's word for it
                raise ValueError(
                    f"line {last + 1}: a quoted cell opened on this line is never closed."
                ) from None
            raise ValueError(f"line {last + 1}: {exc}.") from None
        yield last + 1, record
        last = reader.line_num


def _numbers_of(upload) -> list[tuple[int, str]]:
    """(line number, raw number) of an uploaded list: the column named like a phone number, or the
    first one. Parsing a file format is the interface's job; what a number is, the service's."""
    # Read whole, up to a size no list of MAX_UPLOAD_LINES numbers needs: a longer file is refused,
    # never cut short (a cut would drop numbers without a word, the last one perhaps mid-way).
    raw = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValueError(f"larger than {MAX_UPLOAD_BYTES // 2**20} MB: split the file.")
    if b"\x00" in raw[:4096]:
        raise ValueError("this is a binary file, not a CSV or text list of numbers.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if not text.strip():
        raise ValueError("the file is empty.")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # strict: an unclosed quote is an error at the end of the file, not a last cell that swallowed
    # every line after it (a thousand numbers silently not suppressed).
    reader = csv.reader(io.StringIO(text), dialect, strict=True)
    rows: list[tuple[int, str]] = []
    column = 0
    for index, (line, record) in enumerate(_records(reader)):
        if not record or not any(cell.strip() for cell in record):
            continue
        if index == 0:
            names = [cell.strip().lower() for cell in record]
            named = [i for i, name in enumerate(names) if name in NUMBER_HEADERS or is_phone_header(name)]
            if named:
                column = named[0]
                continue
            if not any(ch.isdigit() for ch in record[0]):
                continue  # a header without a known column name: numbers are in the first column
        rows.append((line, record[column].strip() if column < len(record) else ""))
        if len(rows) > MAX_UPLOAD_LINES:
            raise ValueError(f"more than {MAX_UPLOAD_LINES} lines: split the file.")
    if not rows:
        raise ValueError("the file holds no number.")
    return rows


class RegisterImportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """National register snapshots. Uploading a file starts an import job (202); poll it."""

    queryset = RegisterImport.objects.select_related("created_by")
    serializer_class = RegisterImportSerializer
    filterset_fields = ["register", "status", "is_current"]
    ordering_fields = ["created_at", "file_date"]
    parser_classes = [MultiPartParser, FormParser]

    # A job whose process died (a request past the server's timeout, a restart) would read
    # `running` for ever: looking at jobs ends such jobs first, with the reason in `error`.
    def list(self, request, *args, **kwargs):
        fail_stalled_register_imports(now=timezone.now())
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        fail_stalled_register_imports(now=timezone.now())
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=RegisterImportCreateSerializer, responses={202: RegisterImportSerializer})
    def create(self, request, *args, **kwargs):
        form = RegisterImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            with transaction.atomic():
                register_import = create_register_import(
                    register=data["register"],
                    file_date=data["file_date"],
                    actor=request.user,
                    now=timezone.now(),
                    upload=data["file"],
                )
                transaction.on_commit(lambda: run_register_import_task.delay(register_import.pk))
        except RegisterImportError as exc:
            field, _, message = str(exc).partition(": ")
            return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
        register_import.refresh_from_db()
        return Response(RegisterImportSerializer(register_import).data, status=status.HTTP_202_ACCEPTED)


class ConsentFilter(django_filters.FilterSet):
    withdrawn = django_filters.BooleanFilter(field_name="withdrawn_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ConsentRecord
        fields = ["prospect", "advertiser", "purpose", "basis"]


class ConsentRecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Consent records. They are proof: never deleted here; `withdraw` records a withdrawal."""

    queryset = ConsentRecord.objects.all()
    serializer_class = ConsentRecordSerializer
    filterset_class = ConsentFilter
    ordering_fields = ["given_at", "created_at"]
    required_permissions = {"withdraw": ["contacts.change_consentrecord"]}
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        now = timezone.now()
        return (
            super()
            .get_queryset()
            .annotate(
                is_active=Case(
                    When(
                        Q(withdrawn_at__isnull=True)
                        & Q(given_at__lte=now)
                        & (Q(valid_until__isnull=True) | Q(valid_until__gt=now)),
                        then=Value(True),
                    ),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
        )

    def create(self, request, *args, **kwargs):
        form = ConsentRecordSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            consent = record_consent(
                prospect=data["prospect"],
                advertiser=data["advertiser"],
                given_at=data["given_at"],
                actor=request.user,
                now=timezone.now(),
                purpose=data.get("purpose", ConsentRecord.Purpose.TELEMARKETING),
                basis=data.get("basis", ConsentRecord.Basis.CONSENT),
                contract_ref=data.get("contract_ref", ""),
                channel=data.get("channel", ""),
                evidence=data.get("evidence") or {},
                valid_until=data.get("valid_until"),
            )
        except ConsentError as exc:
            field, _, message = str(exc).partition(": ")
            return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            ConsentRecordSerializer(self.get_queryset().get(pk=consent.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ConsentUpdateSerializer, responses={200: ConsentRecordSerializer})
    def partial_update(self, request, *args, **kwargs):
        consent = self.get_object()
        form = ConsentUpdateSerializer(consent, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        try:
            update_consent(consent=consent, actor=request.user, now=timezone.now(), **form.validated_data)
        except ConsentError as exc:
            field, _, message = str(exc).partition(": ")
            return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ConsentRecordSerializer(self.get_queryset().get(pk=consent.pk)).data)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return Response({"detail": "Use PATCH."}, status=status.HTTP_405_METHOD_NOT_ALLOWED)
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: ConsentRecordSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        consent = self.get_object()
        withdraw_consent(consent=consent, actor=request.user, now=timezone.now())
        return Response(ConsentRecordSerializer(self.get_queryset().get(pk=consent.pk)).data)


class ErasureView(APIView):
    """Erase a prospect (GDPR art. 17), and with `objected` keep their numbers suppressed as hashes."""

    queryset = Prospect.objects.all()
    required_permissions = {"POST": ["contacts.delete_prospect"]}
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ErasureSerializer, responses={200: ErasureResultSerializer})
    def post(self, request):
        form = ErasureSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        prospect = erase_prospect(
            prospect=form.validated_data["prospect"],
            actor=request.user,
            now=timezone.now(),
            objected=form.validated_data["objected"],
        )
        return Response(
            ErasureResultSerializer(
                {
                    "prospect": prospect.pk,
                    "erased_at": prospect.erased_at,
                    "objected": form.validated_data["objected"],
                }
            ).data
        )
