"""Inputs to the manager endpoints that once gave a 500, a 503 or a silent loss (found by an
independent review): each is now a 400 naming its field or line, or is handled whole."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from contacts.models import AuditEntry, ImportJob, Suppression
from tests.factories import CampaignFactory, LeadFactory, PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    client = APIClient()
    client.force_authenticate(UserFactory(username="manon", roles=["campaign_manager"]))
    return client


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00+00:00",
        "1999-12-31T23:59:59Z",
    ],
)
def test_callability_at_outside_the_calendar_is_a_400(manager, at):
    number = PhoneNumberFactory()
    lead = LeadFactory(phone_number=number)

    response = manager.get(
        "/api/v1/callability/", {"phone_number": number.e164, "campaign": lead.campaign_id, "at": at}
    )

    assert response.status_code == 400
    assert response.json() == {"at": ["Must be between 2000-01-01 and 2099-12-31 (UTC)."]}


@pytest.mark.parametrize("campaign", ["²", "¹²", "٣" * 3, "99999999999999999999", "-1"])
def test_leads_campaign_filter_takes_only_an_id(manager, campaign):
    response = manager.get("/api/v1/leads/", {"campaign": campaign})

    assert response.status_code == 400
    assert response.json() == {"campaign": ["Expected a campaign id."]}


@pytest.mark.parametrize("zone", ["Europe", "America", "posix"])
def test_a_floor_time_zone_that_is_a_folder_of_the_tz_database_is_a_400(manager, zone):
    body = {
        "code": "tunis-1",
        "name": "Tunis",
        "site_city": "Tunis",
        "country": "TN",
        "time_zone": zone,
        "languages": ["fr"],
        "callee_countries": ["FR"],
        "seats": 10,
    }

    response = manager.post("/api/v1/floors/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"time_zone": [f"'{zone}' is not an IANA time zone."]}


def test_not_contacted_days_is_bounded(manager):
    campaign = CampaignFactory()

    response = manager.patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"selection": {"not_contacted_days": 10**6}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "selection.not_contacted_days": ["not_contacted_days must be an integer from 0 to 3650."]
    }


def upload(client, content: bytes):
    return client.post(
        "/api/v1/suppressions/upload/",
        {
            "file": SimpleUploadedFile("numbers.csv", content, content_type="text/csv"),
            "default_country": "FR",
        },
        format="multipart",
    )


def test_a_suppression_list_with_a_cell_over_the_csv_limit_is_a_400_naming_its_line(manager):
    content = b'phone\n+33612000001\n"' + b"x" * (2 << 20) + b'"\n+33612000002\n'

    response = upload(manager, content)

    assert response.status_code == 400
    assert response.json() == {"file": ["line 3: field larger than field limit (1048576)."]}
    assert Suppression.objects.count() == 0


def test_a_suppression_list_over_the_size_cap_is_refused_not_cut(manager):
    from api.compliance.views import MAX_UPLOAD_BYTES

    content = b"phone,note\n" + b"+33612000001," + b"n" * MAX_UPLOAD_BYTES + b"\n"

    response = upload(manager, content)

    assert response.status_code == 400
    assert response.json() == {"file": ["larger than 32 MB: split the file."]}
    assert Suppression.objects.count() == 0


def test_a_long_suppression_list_is_read_whole_and_committed_by_batches(manager, monkeypatch):
    from contacts.services import suppression

    monkeypatch.setattr(suppression, "UPLOAD_BATCH", 2)
    # 150 bytes a line, as in a list exported with a note column: past the old 80-bytes-a-line read.
    content = b"phone,note\n" + b"".join(b"+336120000%02d," % i + b"n" * 135 + b"\n" for i in range(5))

    response = upload(manager, content)

    assert response.status_code == 200
    assert response.json() == {"created": 5, "already_suppressed": 0, "rejected": []}
    entries = AuditEntry.objects.filter(action="contacts.suppression.bulk_uploaded").order_by("id")
    assert [(e.details["lines"], e.details["created"]) for e in entries] == [
        ([2, 3], 2),
        ([4, 5], 2),
        ([6, 6], 1),
    ]


@pytest.mark.postgres  # advisory locks are PostgreSQL's (SQLite has one writer)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_long_suppression_list_holds_one_batch_of_locks_at_a_time(manager, monkeypatch):
    from contacts.services import suppression

    # One advisory lock per number, held to the end of its transaction: 30,000 numbers in one
    # transaction overflowed the shared lock table ("out of shared memory", a 503, nothing
    # suppressed). Measured here: the most advisory locks the upload held at once.
    held: list[int] = []
    lock = suppression._lock_number

    def counting(key):
        lock(key)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            held.append(cursor.fetchone()[0])

    monkeypatch.setattr(suppression, "_lock_number", counting)
    count = suppression.UPLOAD_BATCH * 2 + 200
    content = b"phone\n" + b"".join(b"+336%08d\n" % (12_000_000 + i) for i in range(count))

    response = upload(manager, content)

    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == count
    assert Suppression.objects.count() == count
    assert max(held) == suppression.UPLOAD_BATCH


def xlsx_with(part: str, data: bytes) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["phone", "name"])
    workbook.active.append(["+33612000001", "A"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, data if item.filename == part else source.read(item.filename))
    return out.getvalue()


@pytest.mark.parametrize(
    ("part", "data"),
    [
        ("xl/workbook.xml", b"<workbook"),
        ("xl/workbook.xml", b"not xml at all"),
        ("xl/worksheets/sheet1.xml", b"<worksheet"),
    ],
)
def test_an_xlsx_whose_xml_is_broken_is_a_400(manager, part, data):
    response = manager.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("p.xlsx", xlsx_with(part, data)), "default_country": "FR"},
        format="multipart",
    )

    assert response.status_code == 400, response.content[:300]
    (message,) = response.json()["file"]
    assert message.startswith("the XLSX file is damaged or truncated")
    assert ImportJob.objects.count() == 0
