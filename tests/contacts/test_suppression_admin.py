"""Issue 4 / issue 3: the compliance admin goes through the services (validated and audited)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import AuditEntry, Prospect, RegisterImport, Suppression
from tests.factories import PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_adds_a_suppression_through_the_service(admin_client):
    response = admin_client.post(
        "/admin/contacts/suppression/add/",
        {"number": "06 12 34 56 78", "default_country": "FR", "reason": "complaint", "note": "letter"},
    )
    assert response.status_code == 302, response.content[:2000]
    suppression = Suppression.objects.get()
    assert (suppression.e164, suppression.source, suppression.created_by.username) == (
        "+33612345678",
        "admin",
        "root",
    )
    assert AuditEntry.objects.filter(action="contacts.suppression.created", actor_label="root").count() == 1
    assert admin_client.get(f"/admin/contacts/suppression/{suppression.pk}/change/").status_code == 200
    assert admin_client.get("/admin/contacts/suppression/").status_code == 200


def test_admin_refuses_a_bad_number(admin_client):
    response = admin_client.post(
        "/admin/contacts/suppression/add/", {"number": "12", "default_country": "FR", "reason": "manual"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert Suppression.objects.count() == 0


def test_admin_register_upload_runs_the_import(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/contacts/registerimport/add/",
            {
                "register": "rpo",
                "file_date": "2026-03-01",
                "upload": SimpleUploadedFile("r.txt", b"3471234567\n"),
            },
        )
    assert response.status_code == 302, response.content[:2000]
    job = RegisterImport.objects.get()
    assert (job.status, job.is_current, job.entries_count) == ("done", True, 1)


def test_admin_erase_action_on_prospects(admin_client):
    number = PhoneNumberFactory(e164="+33612345678")
    response = admin_client.post(
        "/admin/contacts/prospect/",
        {"action": "erase_and_suppress_action", "_selected_action": [number.prospect_id]},
    )
    assert response.status_code == 302
    prospect = Prospect.objects.get(pk=number.prospect_id)
    assert prospect.erased_at is not None and prospect.first_name == ""
    assert Suppression.objects.get().e164 == ""
    assert AuditEntry.objects.filter(action="contacts.prospect.erased", actor_label="root").count() == 1


def test_admin_consent_refused_by_the_service_is_a_message_not_a_500(admin_client):
    from contacts.models import ConsentRecord
    from tests.factories import AdvertiserFactory, ProspectFactory

    prospect, advertiser = ProspectFactory(), AdvertiserFactory()
    response = admin_client.post(
        "/admin/contacts/consentrecord/add/",
        {
            "prospect": prospect.pk,
            "advertiser": advertiser.pk,
            "purpose": "telemarketing",
            "basis": "contract",  # an ongoing-contract basis without its contract reference
            "contract_ref": "",
            "given_at_0": "2026-09-01",
            "given_at_1": "12:00:00",
            "channel": "phone",
            "evidence": "{}",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain == [("/admin/contacts/consentrecord/add/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "contract_ref: an ongoing-contract basis needs the contract reference."
    ]
    assert ConsentRecord.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="contacts.consent").count() == 0
