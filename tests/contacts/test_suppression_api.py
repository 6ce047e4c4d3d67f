"""Issue 4: the compliance API (suppressions, register imports, consents, erasures) and who may use it."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from campaigns.services.diallers import issue_dialler_credential
from contacts.models import AuditEntry, ConsentRecord, Prospect, RegisterEntry, RegisterImport, Suppression
from contacts.services.suppression import suppress_number
from tests.contacts.compliance_factories import ConsentRecordFactory
from tests.factories import AdvertiserFactory, AgentFactory, FloorFactory, PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=dt.UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def manager():
    return client_for(UserFactory(username="manon", roles=["campaign_manager"]))


@pytest.fixture
def agent():
    return client_for(AgentFactory().user)


@pytest.fixture
def dialler():
    integration, _ = issue_dialler_credential(name="lyon", floors=[FloorFactory()], actor=None, now=NOW)
    return client_for(integration.user)


@pytest.fixture
def supervisor():
    return client_for(UserFactory(roles=["floor_supervisor"]))


def test_manager_creates_a_suppression_from_any_spelling(manager):
    response = manager.post(
        "/api/v1/suppressions/", {"number": "06 12 34 56 78", "default_country": "FR", "reason": "complaint"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["e164"], body["scope"], body["reason"], body["source"]) == (
        "+33612345678",
        "global",
        "complaint",
        "api",
    )
    assert body["created_by"] == "manon" and body["is_active"] is True
    again = manager.post("/api/v1/suppressions/", {"number": "+33612345678"})
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert Suppression.objects.count() == 1


def test_bad_number_is_a_400_naming_the_field(manager):
    response = manager.post("/api/v1/suppressions/", {"number": "12", "default_country": "FR"})
    assert response.status_code == 400
    assert list(response.json()) == ["number"]
    assert Suppression.objects.count() == 0


def test_list_filters_and_bounded_queries(manager, django_assert_max_num_queries):
    brand = AdvertiserFactory()
    for i in range(5):
        suppress_number(e164=f"+3361234560{i}", reason="objection", actor=None, now=NOW)
    suppress_number(e164="+33612345699", reason="manual", actor=None, now=NOW, advertiser=brand)
    lifted = suppress_number(e164="+33612345698", reason="manual", actor=None, now=NOW)
    manager.post(f"/api/v1/suppressions/{lifted.pk}/lift/")
    with django_assert_max_num_queries(6):
        response = manager.get("/api/v1/suppressions/")
    assert response.json()["count"] == 7
    assert manager.get("/api/v1/suppressions/?reason=objection").json()["count"] == 5
    assert manager.get(f"/api/v1/suppressions/?advertiser={brand.pk}").json()["count"] == 1
    inactive = manager.get("/api/v1/suppressions/?active=false").json()
    assert [row["id"] for row in inactive["results"]] == [lifted.pk]


def test_lift_instead_of_delete(manager):
    suppression = suppress_number(e164="+33612345678", reason="manual", actor=None, now=NOW)
    # Nobody holds delete_suppression: the list is evidence.
    assert manager.delete(f"/api/v1/suppressions/{suppression.pk}/").status_code == 403
    response = manager.post(f"/api/v1/suppressions/{suppression.pk}/lift/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert AuditEntry.objects.filter(action="contacts.suppression.lifted", actor_label="manon").count() == 1


def test_bulk_upload_keeps_valid_lines_and_reports_bad_ones(manager):
    csv_bytes = (
        b"name;telephone\nAnne;06 12 34 56 78\nBob;not a number\nCarl;+32 471 12 34 56\nDee;0612345678\n"
    )
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", csv_bytes), "default_country": "FR", "reason": "do_not_call"},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["created"], body["already_suppressed"]) == (2, 1)
    assert [(r["line"], r["value"]) for r in body["rejected"]] == [(3, "not a number")]
    assert sorted(Suppression.objects.values_list("e164", flat=True)) == ["+32471123456", "+33612345678"]
    assert AuditEntry.objects.filter(action="contacts.suppression.bulk_uploaded").count() == 1


def test_an_over_long_number_after_a_committed_batch_is_one_rejected_line(manager):
    # +49 30 1234567890123 is a "valid" German fixed line to phonenumbers, and 17 digits: more
    # than the e164 column holds. It used to raise after the first batch of 500 was committed.
    valid = [f"+336{i:08d}" for i in range(600)]
    body = "\n".join(["phone", *valid, "+49301234567890123", "+33799999999"]) + "\n"
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", body.encode()), "default_country": "FR"},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 601,
        "already_suppressed": 0,
        "rejected": [
            {
                "line": 602,
                "value": "+49301234567890123",
                "reason": "'+49301234567890123' is longer than E.164 allows (15 digits)",
            }
        ],
    }
    assert Suppression.objects.count() == 601


def test_an_unclosed_quote_is_a_400_naming_its_line_not_a_thousand_lines_swallowed(manager):
    lines = ["phone,note", '+33612345678,"client fâché'] + [f"+336{i:08d},ok" for i in range(1000)]
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", "\n".join(lines).encode() + b"\n")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"file": ["line 2: a quoted cell opened on this line is never closed."]}
    assert Suppression.objects.count() == 0


def test_a_number_column_is_recognised_by_the_prospect_imports_header_names(manager):
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", b"Nom;Mobile\nAnne;06 12 34 56 78\n")},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "already_suppressed": 0, "rejected": []}


def test_an_unknown_default_country_is_a_400_naming_it(manager):
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", b"0612345678\n"), "default_country": "ZZ"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"default_country": ["must be an ISO 3166-1 alpha-2 code such as FR, not 'ZZ'"]}


def test_bulk_upload_of_an_empty_file_is_a_400(manager):
    response = manager.post(
        "/api/v1/suppressions/upload/",
        {"file": SimpleUploadedFile("dnc.csv", b"telephone\n")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"file": ["the file holds no number."]}


def test_register_upload_returns_202_and_runs_the_job(manager, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("rpo.txt", b"3471234567\n+39 06 1234 5678\nbad\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            "/api/v1/register-imports/",
            {"register": "rpo", "file_date": "2026-03-28", "file": upload},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    job = manager.get(f"/api/v1/register-imports/{response.json()['id']}/").json()
    assert (job["status"], job["is_current"], job["entries_count"], job["rejected_count"]) == (
        "done",
        True,
        2,
        1,
    )
    assert job["rejected_lines"] == [{"line": 3, "reason": "not an Italian number", "raw": "bad"}]
    assert RegisterImport.objects.get().file == ""  # the uploaded list is not kept once read


def test_a_register_file_lost_before_the_worker_runs_fails_its_job(
    manager, django_capture_on_commit_callbacks
):
    """The task used to raise FileNotFoundError and leave the job pending for ever."""
    upload = SimpleUploadedFile("rpo.txt", b"3471234567\n")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = manager.post(
            "/api/v1/register-imports/",
            {"register": "rpo", "file_date": "2026-03-28", "file": upload},
            format="multipart",
        )
    stored = RegisterImport.objects.get()
    stored.file.storage.delete(stored.file.name)
    for callback in callbacks:
        callback()
    job = manager.get(f"/api/v1/register-imports/{response.json()['id']}/").json()
    assert (job["status"], job["error"], job["is_current"]) == (
        "failed",
        "the uploaded file is missing from storage",
        False,
    )


def test_register_upload_bad_register_is_400(manager):
    response = manager.post(
        "/api/v1/register-imports/",
        {"register": "nope", "file_date": "2026-03-28", "file": SimpleUploadedFile("x.txt", b"1\n")},
        format="multipart",
    )
    assert response.status_code == 400 and "register" in response.json()
    assert RegisterImport.objects.count() == 0


def test_consent_crud_and_withdrawal(manager):
    number = PhoneNumberFactory(prospect__country="DE")
    brand = AdvertiserFactory()
    response = manager.post(
        "/api/v1/consents/",
        {
            "prospect": number.prospect_id,
            "advertiser": brand.pk,
            "given_at": "2026-03-01T10:00:00Z",
            "channel": "web form",
            "evidence": {"text_version": "v3"},
        },
    )
    assert response.status_code == 201, response.json()
    consent_id = response.json()["id"]
    assert response.json()["is_active"] is True
    patched = manager.patch(f"/api/v1/consents/{consent_id}/", {"channel": "phone"})
    assert patched.status_code == 200 and patched.json()["channel"] == "phone"
    assert manager.delete(f"/api/v1/consents/{consent_id}/").status_code == 403
    withdrawn = manager.post(f"/api/v1/consents/{consent_id}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["is_active"] is False
    assert AuditEntry.objects.filter(action="contacts.consent.withdrawn", actor_label="manon").count() == 1
    bad = manager.post(
        "/api/v1/consents/",
        {
            "prospect": number.prospect_id,
            "advertiser": brand.pk,
            "given_at": "2026-03-01T10:00:00Z",
            "basis": "contract",
        },
    )
    assert bad.status_code == 400 and list(bad.json()) == ["contract_ref"]


def test_erasure_endpoint(manager):
    number = PhoneNumberFactory(e164="+33612345678")
    response = manager.post("/api/v1/erasures/", {"prospect": number.prospect_id, "objected": True})
    assert response.status_code == 200, response.json()
    assert response.json()["objected"] is True
    prospect = Prospect.objects.get(pk=number.prospect_id)
    assert prospect.erased_at is not None and prospect.last_name == ""
    assert Suppression.objects.get().e164 == ""
    assert manager.post("/api/v1/erasures/", {"prospect": 999999, "objected": False}).status_code == 400


@pytest.mark.parametrize("who", ["agent", "dialler", "supervisor"])
def test_agents_diallers_and_supervisors_get_403_and_nothing_changes(who, request):
    client = request.getfixturevalue(who)
    suppression = suppress_number(e164="+33612345678", reason="objection", actor=None, now=NOW)
    consent = ConsentRecordFactory()
    number = PhoneNumberFactory(e164="+33612345600")
    audit_before = AuditEntry.objects.count()
    calls = [
        client.get("/api/v1/suppressions/"),
        client.get(f"/api/v1/suppressions/{suppression.pk}/"),
        client.post("/api/v1/suppressions/", {"number": "+33612345679"}),
        client.post(f"/api/v1/suppressions/{suppression.pk}/lift/"),
        client.post(
            "/api/v1/suppressions/upload/",
            {"file": SimpleUploadedFile("x.csv", b"+33612345670\n")},
            format="multipart",
        ),
        client.get("/api/v1/register-imports/"),
        client.post(
            "/api/v1/register-imports/",
            {
                "register": "rpo",
                "file_date": "2026-03-28",
                "file": SimpleUploadedFile("r.txt", b"3471234567\n"),
            },
            format="multipart",
        ),
        client.get("/api/v1/consents/"),
        client.post(f"/api/v1/consents/{consent.pk}/withdraw/"),
        client.patch(f"/api/v1/consents/{consent.pk}/", {"channel": "x"}),
        client.post("/api/v1/erasures/", {"prospect": number.prospect_id, "objected": True}),
    ]
    assert [r.status_code for r in calls] == [403] * len(calls)
    suppression.refresh_from_db()
    consent.refresh_from_db()
    assert suppression.expires_at is None and Suppression.objects.count() == 1
    assert consent.withdrawn_at is None and consent.channel == "web form"
    assert ConsentRecord.objects.count() == 1
    assert RegisterImport.objects.count() == 0 and RegisterEntry.objects.count() == 0
    assert Prospect.objects.get(pk=number.prospect_id).erased_at is None
    assert AuditEntry.objects.count() == audit_before


def test_anonymous_gets_401_or_403():
    response = APIClient().get("/api/v1/suppressions/")
    assert response.status_code in (401, 403)
