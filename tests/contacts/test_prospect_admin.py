"""The prospect change form cannot undo or fake an erasure (found by fuzzing the admin: clearing
`erased_at` brought a prospect back with new personal data and no audit entry; setting it marked
one erased with its data kept)."""

import datetime as dt

import pytest
from django.test import Client

from contacts.models import Prospect
from contacts.services.erasure import erase_prospect
from tests.factories import ProspectFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


def form_of(prospect: Prospect, **changes) -> dict:
    fields = ["first_name", "last_name", "language", "country", "postcode", "city", "region", "email"]
    form = {name: getattr(prospect, name) for name in fields}
    form.update(
        {"source": prospect.source, "tags": "[]", "numbers-TOTAL_FORMS": "0", "numbers-INITIAL_FORMS": "0"}
    )
    return {**form, **changes}


def test_an_erased_prospect_cannot_be_changed():
    prospect = erase_prospect(prospect=ProspectFactory(), actor=None, now=NOW, objected=False)
    client = superuser_client()
    url = f"/admin/contacts/prospect/{prospect.pk}/change/"
    response = client.post(url, form_of(prospect, erased_at_0="", erased_at_1="", first_name="Back"))
    assert response.status_code == 403
    prospect.refresh_from_db()
    assert (prospect.erased_at, prospect.first_name) == (NOW, "")
    assert client.get(url).status_code == 200  # still viewable, read-only


def test_erased_at_cannot_be_typed_on_a_living_prospect():
    prospect = ProspectFactory()
    client = superuser_client()
    url = f"/admin/contacts/prospect/{prospect.pk}/change/"
    response = client.post(url, form_of(prospect, erased_at_0="2026-11-01", erased_at_1="10:00", city="Lyon"))
    assert response.status_code == 302
    prospect.refresh_from_db()
    assert (prospect.erased_at, prospect.city) == (None, "Lyon")


def test_every_e_mail_of_the_demo_file_is_one_the_admin_accepts(tmp_path):
    # 2,667 of the 5,575 demo prospects had accented addresses (théo.faure1@…), which the admin's
    # e-mail field refuses: none of them could be edited there. The deliberate bad ones ("n/a@")
    # are rejected by the import, as the file's expected counts say.
    import csv

    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from contacts.demo.prospects import generate_prospects_csv

    path = tmp_path / "demo.csv"
    generate_prospects_csv(path, rows=2_000)
    with path.open(encoding="utf-8-sig") as handle:
        emails = [row["E-mail"] for row in csv.DictReader(handle, delimiter=";")]
    refused = []
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            refused.append(email)
    assert len(emails) == 2_000
    assert set(refused) <= {"n/a@"}
