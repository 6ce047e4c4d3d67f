"""Issue 3: the admin upload form and the import job list."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contacts.models import AuditEntry, ImportJob, Prospect
from tests.contacts.factories import csv_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CONTENT = csv_bytes([["Nom", "Téléphone"], ["Martin", "06 12 34 56 78"], ["Bad", "0891 12 34 56"]])


def staff_client(roles):
    user = UserFactory(username=f"staff-{'-'.join(roles) or 'none'}", roles=roles)
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_manager_uploads_through_the_admin_and_sees_the_job():
    client = staff_client(["campaign_manager"])
    listing = client.get("/admin/contacts/importjob/")
    assert listing.status_code == 200
    assert b"Import a prospect file" in listing.content
    assert client.get("/admin/contacts/importjob/upload/").status_code == 200
    response = client.post(
        "/admin/contacts/importjob/upload/",
        {
            "file": SimpleUploadedFile("p.csv", CONTENT),
            "source": "salon",
            "default_country": "fr",
            "mapping": "",
        },
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/contacts/importjob/{job.pk}/change/"
    assert (job.status, job.counts, job.created_by.username) == (
        "succeeded",
        {"created": 1, "updated": 0, "duplicate": 0, "rejected": 1},
        "staff-campaign_manager",
    )
    assert Prospect.objects.get().source == "salon"
    page = client.get(f"/admin/contacts/importjob/{job.pk}/change/")
    assert page.status_code == 200
    links = re.findall(r'<a href="([^"]+)">download</a>', page.content.decode())
    assert links == [f"/api/v1/imports/{job.pk}/report/", f"/api/v1/imports/{job.pk}/outcomes/"]
    assert job.file.name not in page.content.decode()  # the stored file's path is not shown
    report = client.get(links[0])
    assert (report.status_code, b"".join(report.streaming_content).count(b"\n")) == (200, 2)
    assert AuditEntry.objects.filter(action="contacts.import.report_downloaded").count() == 1
    listing = client.get("/admin/contacts/importjob/")
    assert b'<progress max="100" value="100">' in listing.content


def test_bad_file_shows_the_error_and_writes_nothing():
    client = staff_client(["campaign_manager"])
    response = client.post(
        "/admin/contacts/importjob/upload/",
        {"file": SimpleUploadedFile("p.csv", b"Nom;Ville\r\nA;B\r\n"), "default_country": "FR"},
    )
    assert response.status_code == 200
    assert b"no phone column" in response.content
    assert ImportJob.objects.count() == 0
    assert Prospect.objects.count() == 0


def test_staff_without_the_permission_cannot_upload():
    client = staff_client(["agent"])
    response = client.post(
        "/admin/contacts/importjob/upload/",
        {"file": SimpleUploadedFile("p.csv", CONTENT), "default_country": "FR"},
    )
    assert response.status_code == 403
    assert ImportJob.objects.count() == 0
    assert Prospect.objects.count() == 0


def test_the_admin_erases_prospects_and_never_deletes_them():
    client = staff_client(["campaign_manager"])
    client.post(
        "/admin/contacts/importjob/upload/",
        {
            "file": SimpleUploadedFile("p.csv", CONTENT),
            "source": "salon",
            "default_country": "fr",
            "mapping": "",
        },
    )
    prospect = Prospect.objects.get()
    assert client.get(f"/admin/contacts/prospect/{prospect.pk}/delete/").status_code == 403
    listing = client.get("/admin/contacts/prospect/")
    assert listing.status_code == 200
    assert b"delete_selected" not in listing.content
    assert b"erase_prospects_action" in listing.content
    assert Prospect.objects.filter(pk=prospect.pk).exists()
