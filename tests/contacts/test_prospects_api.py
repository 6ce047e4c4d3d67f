"""Issue 3: the prospects and imports API: 202 + job, report download, permissions, audit."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from campaigns.models import Lead
from contacts.models import AuditEntry, ImportJob, PhoneNumber, Prospect
from contacts.selectors.prospects import prospects_visible_to
from tests.contacts.factories import csv_bytes
from tests.factories import (
    AgentFactory,
    FloorFactory,
    LeadFactory,
    PhoneNumberFactory,
    ProspectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

GOOD = csv_bytes(
    [
        ["Prénom", "Nom", "Téléphone", "Ville"],
        ["Élodie", "Martin", "06 12 34 56 78", "Lyon"],
        ["Paul", "=cmd|' /C calc'!A0", "0891 12 34 56", "Lille"],
        ["Paul", "Durand", "06.12.34.56.78", "Nice"],
    ],
    delimiter=";",
)


def upload(client, content=GOOD, name="prospects.csv", **data):
    data.setdefault("default_country", "FR")
    return client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **data},
        format="multipart",
    )


def download(client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_upload_answers_202_with_the_finished_job_and_its_report(manager_client, manager):
    response = upload(manager_client, source="dealer-lyon", default_country="fr")
    assert response.status_code == 202, response.json()
    body = response.json()
    job = ImportJob.objects.get()
    assert body["id"] == job.pk
    assert {
        k: body[k] for k in ("status", "progress", "rows_total", "counts", "rejection_reasons", "error")
    } == {
        "status": "succeeded",
        "progress": 100,
        "rows_total": 3,
        "counts": {"created": 1, "updated": 0, "duplicate": 1, "rejected": 1},
        "rejection_reasons": {"premium_rate": 1},
        "error": "",
    }
    assert (body["source"], body["default_country"], body["created_by"]) == ("dealer-lyon", "FR", "manager")
    assert body["report_url"] == f"http://testserver/api/v1/imports/{job.pk}/report/"
    assert download(manager_client, body["report_url"]) == [
        ["line", "reason", "message", "Prénom", "Nom", "Téléphone", "Ville"],
        ["3", "premium_rate", "'0891 12 34 56' is a premium-rate number: not callable", "Paul",
         "'=cmd|' /C calc'!A0", "0891 12 34 56", "Lille"],
    ]  # fmt: skip
    prospect = Prospect.objects.get()
    assert download(manager_client, body["outcomes_url"]) == [
        ["line", "outcome", "prospect_id", "e164", "reason", "message"],
        ["2", "created", str(prospect.pk), "+33612345678", "", ""],
        ["3", "rejected", "", "", "premium_rate", "'0891 12 34 56' is a premium-rate number: not callable"],
        ["4", "duplicate", str(prospect.pk), "+33612345678", "duplicate", "same number as line 2"],
    ]
    assert (prospect.source, prospect.created_at.year) == ("dealer-lyon", prospect.created_at.year)
    assert list(
        AuditEntry.objects.filter(target_id=str(job.pk)).order_by("id").values_list("action", "actor_label")
    ) == [
        ("contacts.import.requested", "manager"),
        ("contacts.import.completed", "manager"),
        ("contacts.import.report_downloaded", "manager"),
        ("contacts.import.outcomes_downloaded", "manager"),
    ]


def test_a_report_lost_from_storage_is_a_404_and_not_audited(manager_client):
    job = ImportJob.objects.get(pk=upload(manager_client).json()["id"])
    job.report.storage.delete(job.report.name)
    response = manager_client.get(f"/api/v1/imports/{job.pk}/report/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"The report of import {job.pk} is missing from storage."},
    )
    assert not AuditEntry.objects.filter(action="contacts.import.report_downloaded").exists()


def test_job_detail_and_list(manager_client):
    job_id = upload(manager_client).json()["id"]
    detail = manager_client.get(f"/api/v1/imports/{job_id}/").json()
    assert (detail["status"], detail["counts"]["created"]) == ("succeeded", 1)
    listing = manager_client.get("/api/v1/imports/").json()
    assert [row["id"] for row in listing["results"]] == [job_id]


def test_large_upload_runs_in_celery_after_commit(
    manager_client, monkeypatch, django_capture_on_commit_callbacks
):
    from contacts.services import imports

    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(manager_client)
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["progress"]) == ("pending", 0)
    assert Prospect.objects.count() == 0
    assert len(callbacks) == 1
    callbacks[0]()  # the broker hands it to a worker; here the task runs in-process (eager)
    job = ImportJob.objects.get()
    assert (job.status, job.counts["created"]) == ("succeeded", 1)


@pytest.mark.parametrize(
    ("content", "data", "field", "message"),
    [
        (b"", {}, "file", "The submitted file is empty."),
        (b"Nom;Ville\r\nA;B\r\n", {}, "file", "no phone column: none of the headers ('Nom', 'Ville')"),
        (b"Nom;Tel\r\n", {}, "file", "the file has a header but no rows"),
        (b"PK\x03\x04\x00\x00garbage", {}, "file", "the XLSX file is damaged or truncated"),
        (b"\x00\x01\x02binary", {}, "file", "the file is binary"),
        (GOOD, {"default_country": "France"}, "default_country", "must be an ISO 3166-1 alpha-2 code"),
        # Two letters, but no country: every national number would have been "not a phone number".
        (
            GOOD,
            {"default_country": "ZZ"},
            "default_country",
            "must be an ISO 3166-1 alpha-2 code such as FR, not 'ZZ'",
        ),
        (GOOD, {"mapping": "Tel=telephone"}, "mapping", "mapping names unknown field 'telephone'"),
        (GOOD, {"mapping": "{bad json"}, "mapping", "not valid JSON"),
        (GOOD, {"mapping": '{"Mobile": "phone"}'}, "file", "the mapping names column 'Mobile'"),
    ],
)
def test_bad_uploads_get_400_and_nothing_is_written(manager_client, content, data, field, message):
    response = upload(manager_client, content, **data)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message), response.json()
    assert ImportJob.objects.count() == 0
    assert Prospect.objects.count() == 0


def test_explicit_mapping_as_json(manager_client):
    content = csv_bytes([["Wer", "Nummer"], ["Weber", "0151 23456789"]])
    response = upload(
        manager_client, content, default_country="DE", mapping='{"Nummer": "phone", "Wer": "last_name"}'
    )
    assert response.status_code == 202
    assert response.json()["columns"] == {"Wer": "last_name", "Nummer": "phone"}
    assert Prospect.objects.get().last_name == "Weber"


# Prospects ----------------------------------------------------------------------------------------


def test_prospect_list_has_no_personal_data_and_is_audited(manager_client, django_assert_max_num_queries):
    for i in range(3):
        prospect = ProspectFactory(email=f"p{i}@example.org", source="crm")
        PhoneNumberFactory(prospect=prospect)
        PhoneNumberFactory(prospect=prospect)
    # permissions (2), floors (1), count, page, audit: the same for 3 rows or 50.
    with django_assert_max_num_queries(8):
        response = manager_client.get("/api/v1/prospects/?source=crm")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert set(results[0]) == {
        "id", "country", "language", "region", "source", "is_customer", "number_count", "last_contact_at",
        "created_at", "updated_at", "is_erased",
    }  # fmt: skip
    assert [r["number_count"] for r in results] == [2, 2, 2]
    entry = AuditEntry.objects.get(action="contacts.prospects.listed")
    assert (entry.actor_label, entry.details) == ("manager", {"filters": {"source": ["crm"]}, "returned": 3})


def test_prospect_detail_shows_numbers_and_is_audited(manager_client):
    number = PhoneNumberFactory(time_zone_candidates=["Europe/Paris"])
    response = manager_client.get(f"/api/v1/prospects/{number.prospect_id}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["numbers"][0]["e164"], body["numbers"][0]["time_zone"]) == (
        "Camille",
        number.e164,
        "Europe/Paris",
    )
    assert (
        AuditEntry.objects.filter(
            action="contacts.prospect.viewed", target_id=str(number.prospect_id)
        ).count()
        == 1
    )


def test_floor_scoped_callers_see_only_prospects_with_a_lead_on_their_floor():
    mine, other = FloorFactory(), FloorFactory()
    lead = LeadFactory(floor=mine)
    LeadFactory(floor=other)
    LeadFactory(
        floor=mine,
        campaign=LeadFactory(floor=mine).campaign,
        phone_number=PhoneNumberFactory(prospect=lead.prospect),
    )
    agent = AgentFactory(floor=mine)
    assert sorted(prospects_visible_to(agent.user).values_list("id", flat=True)) == sorted(
        set(Lead.objects.filter(floor=mine).values_list("prospect_id", flat=True))
    )
    manager = UserFactory(roles=["campaign_manager"])
    assert prospects_visible_to(manager).count() == Prospect.objects.count()


# Permission matrix -------------------------------------------------------------------------------

ROLES = ["campaign_manager", "floor_supervisor", "agent", "quality_evaluator", "dialler", None]


def client_for(role):
    client = APIClient()
    if role is not None:
        user = UserFactory(username=f"u-{role}", roles=[role])
        if role in ("agent", "floor_supervisor"):
            AgentFactory(user=user)
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, tmp_path):
    number = PhoneNumberFactory()
    owner = UserFactory(username="owner", roles=["campaign_manager"])
    owner_client = APIClient()
    owner_client.force_authenticate(owner)
    job_id = upload(owner_client).json()["id"]
    before = (Prospect.objects.count(), PhoneNumber.objects.count(), ImportJob.objects.count())
    client = client_for(role)
    allowed = role == "campaign_manager"
    refused = 401 if role is None else 403
    calls = {
        "prospects list": client.get("/api/v1/prospects/").status_code,
        "prospect detail": client.get(f"/api/v1/prospects/{number.prospect_id}/").status_code,
        "imports list": client.get("/api/v1/imports/").status_code,
        "import detail": client.get(f"/api/v1/imports/{job_id}/").status_code,
        "import report": client.get(f"/api/v1/imports/{job_id}/report/").status_code,
        "upload": upload(client, csv_bytes([["Tel"], ["0612345699"]])).status_code,
        "prospect delete": client.delete(f"/api/v1/prospects/{number.prospect_id}/").status_code,
    }
    expected = {name: 200 if allowed else refused for name in calls}
    expected["upload"] = 202 if allowed else refused
    expected["prospect delete"] = 405 if allowed else refused
    assert calls == expected
    if not allowed:
        assert (Prospect.objects.count(), PhoneNumber.objects.count(), ImportJob.objects.count()) == before
        assert not AuditEntry.objects.filter(
            action__startswith="contacts.prospect", actor_label__startswith="u-"
        ).exists()


def test_a_workbook_openpyxl_cannot_read_is_a_400_naming_the_file(manager_client):
    from tests.contacts.factories import xlsx_bytes
    from tests.contacts.test_imports import SMALL_XLSX_ROWS, rezip

    content = rezip(
        xlsx_bytes(SMALL_XLSX_ROWS), workbook=lambda d: d.replace(b'sheetId="1"', b'sheetId="1.0"')
    )
    response = upload(manager_client, content, name="p.xlsx")
    assert response.status_code == 400
    assert response.json() == {
        "file": [
            "the XLSX file is damaged or truncated: not a readable .xlsx workbook "
            "(TypeError: expected <class 'int'>)"
        ]
    }
    assert ImportJob.objects.count() == 0


def test_two_file_parts_are_a_400_naming_file(manager_client):
    response = manager_client.post(
        "/api/v1/imports/",
        {
            "file": [
                SimpleUploadedFile("a.csv", GOOD, content_type="text/csv"),
                SimpleUploadedFile("b.csv", GOOD, content_type="text/csv"),
            ],
            "default_country": "FR",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"file": ["one file per import: this request has 2"]}
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("a." + "c" * 120, "a." + "c" * 120),  # made the storage raise SuspiciousFileOperation: a bare 400
        ("x" * 300 + ".csv", "x" * 251 + ".csv"),  # as Django's upload handler cuts it
        ("../../etc/passwd", "passwd"),
    ],
)
def test_any_file_name_is_stored_under_a_name_of_ours(manager_client, name, kept):
    response = upload(manager_client, name=name)
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert (job.original_name, job.status) == (kept, "succeeded")
    # Ours: 16 random hex digits, and the client's extension only when it is a short one. (Testing
    # that "ccc" is absent failed when the random digits held "ccc".)
    assert re.fullmatch(r"imports/\d{4}/\d{2}/upload-[0-9a-f]{16}(\.csv)?", job.file.name), job.file.name
