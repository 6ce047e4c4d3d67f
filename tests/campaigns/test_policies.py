"""Issue 4: country policies as effective-dated data, seeded with sources, edited by admins only and
audited; the callability explanation endpoint."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from campaigns.models import CountryPolicy
from campaigns.services.policies import POLICY_SEED, PolicyError, save_policy, seed_country_policies
from contacts.models import AuditEntry
from tests.campaigns.rules_factories import RegisterImportFactory, number_in
from tests.factories import CampaignFactory, FloorFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def policies():
    seed_country_policies()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def fr_opt_out() -> CountryPolicy:
    return CountryPolicy.objects.get(country="FR", effective_from=dt.date(2023, 3, 1))


# --- seed ----------------------------------------------------------------------------------------


def test_seed_covers_the_seven_countries_with_effective_dated_rows_and_sources():
    rows = list(
        CountryPolicy.objects.order_by("country", "effective_from").values_list(
            "country", "effective_from", "effective_to"
        )
    )
    assert rows == [
        ("BE", dt.date(2015, 6, 28), None),
        ("DE", dt.date(2021, 10, 1), None),
        ("ES", dt.date(2023, 6, 29), None),
        ("FR", dt.date(2023, 3, 1), dt.date(2026, 8, 10)),
        ("FR", dt.date(2026, 8, 11), None),
        ("IT", dt.date(2024, 9, 28), None),
        ("NL", dt.date(2021, 7, 1), dt.date(2026, 6, 30)),
        ("NL", dt.date(2026, 7, 1), None),
        ("PT", dt.date(2012, 8, 30), None),
    ]
    assert all(policy.sources for policy in CountryPolicy.objects.all())
    fr = fr_opt_out()
    assert fr.windows["0"] == [["10:00", "13:00"], ["14:00", "20:00"]]
    assert (fr.frequency_max, fr.frequency_days, fr.refusal_quiet_days) == (4, 30, 60)
    assert (fr.legal_basis, fr.register, fr.register_max_age_days) == ("opt_out", "bloctel", 30)
    assert (fr.recording_retention_days, fr.evaluation_retention_days) == (180, 365)
    fr_new = CountryPolicy.objects.get(country="FR", effective_from=dt.date(2026, 8, 11))
    assert (fr_new.legal_basis, fr_new.contract_exception, fr_new.register) == ("consent", True, "")
    nl_new = CountryPolicy.objects.get(country="NL", effective_from=dt.date(2026, 7, 1))
    assert nl_new.contract_exception is False
    assert CountryPolicy.objects.get(country="DE").recording_mode == "ask_consent"
    assert CountryPolicy.objects.get(country="PT").recording_retention_days == 30
    be = CountryPolicy.objects.get(country="BE")
    assert (be.register, be.register_max_age_days, be.register_consent_override) == (
        "dncm",
        5,
        "after_registration",
    )
    it = CountryPolicy.objects.get(country="IT")
    assert (it.register, it.register_max_age_days, it.register_revokes_prior_consent) == ("rpo", 15, True)
    assert CountryPolicy.objects.get(country="ES").consent_max_age_days == 730


def test_seed_is_idempotent_and_never_overwrites_an_edit():
    policy = fr_opt_out()
    policy.frequency_max = 3
    policy.save()
    assert seed_country_policies() == 0
    assert CountryPolicy.objects.count() == len(POLICY_SEED)
    assert fr_opt_out().frequency_max == 3


# --- audited writes ------------------------------------------------------------------------------


def test_save_policy_audits_before_and_after(admin_user):
    policy = fr_opt_out()
    policy.frequency_max = 3
    save_policy(policy=policy, actor=admin_user, now=NOW)
    entry = AuditEntry.objects.get(action="campaigns.countrypolicy.changed")
    assert entry.actor_label == "root"
    assert entry.target_id == str(policy.pk)
    assert entry.details == {"changes": {"frequency_max": [4, 3]}}
    assert entry.at == NOW


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"windows": {"0": [["14:00", "13:00"]]}}, "windows[0]"),
        ({"windows": {"7": []}}, "windows"),
        ({"special_days": {"12-32": [["00:00", "18:30"]]}}, "special_days"),
        ({"extra_blocked_dates": ["2026-02-30"]}, "extra_blocked_dates"),
        ({"effective_to": dt.date(2026, 8, 11)}, "effective_from"),  # overlaps the opt-in period
        ({"register": "nope"}, "register"),
        ({"frequency_days": None}, "frequency_days"),
    ],
)
def test_invalid_policy_is_refused_and_nothing_is_written(admin_user, change, field):
    policy = fr_opt_out()
    for name, value in change.items():
        setattr(policy, name, value)
    with pytest.raises(PolicyError) as error:
        save_policy(policy=policy, actor=admin_user, now=NOW)
    assert error.value.field == field
    assert AuditEntry.objects.count() == 0
    assert fr_opt_out().windows["0"] == [["10:00", "13:00"], ["14:00", "20:00"]]


# --- API: policies -------------------------------------------------------------------------------


def test_manager_reads_policies_but_cannot_change_them(manager_client):
    response = manager_client.get("/api/v1/country-policies/?country=FR")
    assert response.status_code == 200
    body = response.json()
    results = body["results"] if isinstance(body, dict) else body
    assert [r["effective_from"] for r in results] == ["2023-03-01", "2026-08-11"]
    policy = fr_opt_out()
    refused = manager_client.patch(
        f"/api/v1/country-policies/{policy.pk}/", {"frequency_max": 9}, format="json"
    )
    assert refused.status_code == 403
    assert manager_client.delete(f"/api/v1/country-policies/{policy.pk}/").status_code == 403
    assert fr_opt_out().frequency_max == 4
    assert AuditEntry.objects.count() == 0


def test_supervisor_cannot_read_policies():
    supervisor = UserFactory(roles=["floor_supervisor"])
    assert client_for(supervisor).get("/api/v1/country-policies/").status_code == 403


def test_admin_edits_a_policy_through_the_api_and_it_is_audited(admin_user):
    policy = fr_opt_out()
    response = client_for(admin_user).patch(
        f"/api/v1/country-policies/{policy.pk}/", {"refusal_quiet_days": 90}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["refusal_quiet_days"] == 90
    assert fr_opt_out().refusal_quiet_days == 90
    entry = AuditEntry.objects.get(action="campaigns.countrypolicy.changed")
    assert entry.details == {"changes": {"refusal_quiet_days": [60, 90]}}


def test_admin_gets_400_naming_the_field_for_a_bad_window(admin_user):
    policy = fr_opt_out()
    response = client_for(admin_user).patch(
        f"/api/v1/country-policies/{policy.pk}/", {"windows": {"0": [["25:00", "26:00"]]}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"windows[0]": ["interval ['25:00', '26:00'] is not [\"HH:MM\", \"HH:MM\"]"]}
    assert fr_opt_out().windows["0"] == [["10:00", "13:00"], ["14:00", "20:00"]]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # Each was saved through the API by a fuzz campaign; every FR decision was then a 500.
        (
            {"consent_max_age_days": 2**31 - 1},
            "consent_max_age_days",
            "must be at most 36500 days (100 years)",
        ),
        (
            {"recording_retention_days": 3_000_000},
            "recording_retention_days",
            "must be at most 36500 days (100 years)",
        ),
        ({"effective_to": "9999-12-31"}, "effective_to", "must be between 1900-01-01 and 2099-12-31"),
        ({"effective_from": "0001-01-01"}, "effective_from", "must be between 1900-01-01 and 2099-12-31"),
        ({"effective_to": "2100-01-01"}, "effective_to", "must be between 1900-01-01 and 2099-12-31"),
        ({"consent_max_age_days": 36_501}, "consent_max_age_days", "must be at most 36500 days (100 years)"),
        (
            {"holiday_categories": ["public", "catholic", "bogus"]},
            "holiday_categories",
            "'bogus', 'catholic': not a holiday category of FR; use one of public, school",
        ),
        (
            {"holiday_subdivision_aliases": "6AE"},  # saved through the admin: every FR decision failed
            "holiday_subdivision_aliases",
            'expected {"region": "subdivision", …}, e.g. {"67": "6AE"}',
        ),
    ],
)
def test_values_the_decision_cannot_compute_with_are_refused(admin_user, change, field, message):
    policy = fr_opt_out()
    before = CountryPolicy.objects.filter(pk=policy.pk).values().get()
    response = client_for(admin_user).patch(f"/api/v1/country-policies/{policy.pk}/", change, format="json")
    assert (response.status_code, response.json()) == (400, {field: [message]})
    assert CountryPolicy.objects.filter(pk=policy.pk).values().get() == before


def test_the_bounds_themselves_are_accepted(admin_user):
    policy = CountryPolicy.objects.filter(country="FR").latest("effective_from")  # open-ended
    change = {"effective_to": "2099-12-31", "consent_max_age_days": 36_500, "holiday_categories": ["school"]}
    response = client_for(admin_user).patch(f"/api/v1/country-policies/{policy.pk}/", change, format="json")
    assert response.status_code == 200, response.json()
    policy.refresh_from_db()
    assert (policy.effective_to, policy.consent_max_age_days, policy.holiday_categories) == (
        dt.date(2099, 12, 31),
        36_500,
        ["school"],
    )
    entry = AuditEntry.objects.get(action="campaigns.countrypolicy.changed")
    assert entry.details["changes"]["holiday_categories"] == [["public"], ["school"]]


def test_admin_creates_a_new_period(admin_user):
    be = CountryPolicy.objects.get(country="BE")
    client = client_for(admin_user)
    assert (
        client.patch(
            f"/api/v1/country-policies/{be.pk}/", {"effective_to": "2026-12-31"}, format="json"
        ).status_code
        == 200
    )
    payload = {
        "country": "BE",
        "effective_from": "2027-01-01",
        "windows": be.windows,
        "legal_basis": "consent",
        "register": "dncm",
        "register_max_age_days": 5,
        "sources": "BE-OPTIN-2026 (hypothetical)",
    }
    response = client.post("/api/v1/country-policies/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert AuditEntry.objects.filter(action="campaigns.countrypolicy.created").count() == 1


def test_admin_site_saves_through_the_audited_service(client, admin_user):
    policy = fr_opt_out()
    client.force_login(admin_user)
    assert client.get(f"/admin/campaigns/countrypolicy/{policy.pk}/change/").status_code == 200
    import json

    form = {
        "country": "FR",
        "effective_from": "2023-03-01",
        "effective_to": "2026-08-10",
        "label": "France, opt-out with Bloctel (edited)",
        "sources": policy.sources,
        "windows": json.dumps(policy.windows),
        "special_days": "{}",
        "holiday_eve_windows": "[]",
        "blocked_on_holidays": "on",
        "holiday_categories": json.dumps(policy.holiday_categories),
        "holiday_subdivision_aliases": json.dumps(policy.holiday_subdivision_aliases),
        "extra_blocked_dates": "[]",
        "frequency_max": "4",
        "frequency_days": "30",
        "refusal_quiet_days": "60",
        "legal_basis": "opt_out",
        "contract_exception": "on",
        "consent_max_age_days": "",
        "register": "bloctel",
        "register_max_age_days": "30",
        "register_consent_override": "none",
        "recording_mode": "inform_object",
        "recording_retention_days": "180",
        "evaluation_retention_days": "365",
        "prospect_retention_days": "1095",
    }
    response = client.post(f"/admin/campaigns/countrypolicy/{policy.pk}/change/", form)
    assert response.status_code == 302
    assert fr_opt_out().label == "France, opt-out with Bloctel (edited)"
    entry = AuditEntry.objects.get(action="campaigns.countrypolicy.changed")
    assert entry.details["changes"] == {
        "label": ["France, opt-out with Bloctel", "France, opt-out with Bloctel (edited)"]
    }
    bad = client.post(
        f"/admin/campaigns/countrypolicy/{policy.pk}/change/",
        form | {"windows": '{"0": [["14:00", "13:00"]]}'},
    )
    assert bad.status_code == 200  # the form again, with the error
    assert "ends before it starts" in bad.content.decode()
    assert AuditEntry.objects.count() == 1


# --- API: callability ----------------------------------------------------------------------------


def test_manager_asks_why_a_number_is_not_callable(manager_client):
    RegisterImportFactory(register="bloctel", file_date=dt.date(2026, 3, 30))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    at = dt.datetime(2026, 3, 31, 13, 30, tzinfo=PARIS)
    response = manager_client.get(
        "/api/v1/callability/", {"phone_number": number.e164, "campaign": campaign.pk, "at": at.isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["callable"] is False
    assert body["reasons"] == ["outside_hours"]
    assert body["next_callable_at"] == "2026-03-31T12:00:00Z"
    assert body["next_callable_at_local"] == "2026-03-31T14:00:00+02:00"
    assert body["phone_number"] == number.pk
    by_id = manager_client.get(
        "/api/v1/callability/",
        {"phone_number": str(number.pk), "campaign": campaign.pk, "at": "2026-03-31T14:00:00+02:00"},
    )
    assert by_id.json()["callable"] is True
    assert by_id.json()["reasons"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"campaign": "1"}, "phone_number"),
        ({"phone_number": "abc", "campaign": "1"}, "phone_number"),
        ({"phone_number": "+33612000000"}, "campaign"),
        ({"phone_number": "+33612000000", "campaign": "1", "at": "yesterday"}, "at"),
        ({"phone_number": "+33612000000", "campaign": "1", "at": "2026-03-31T10:00:00"}, "at"),
        ({"phone_number": "+33612000000", "campaign": "999999"}, "campaign"),
        ({"phone_number": "+33612000000", "campaign": str(2**70)}, "campaign"),
    ],
)
def test_callability_bad_input_is_400_naming_the_field(manager_client, params, field):
    response = manager_client.get("/api/v1/callability/", params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_supervisor_sees_only_numbers_with_a_lead_on_their_floor():
    RegisterImportFactory(register="bloctel", file_date=dt.date(2026, 3, 30))
    mine, theirs = FloorFactory(), FloorFactory()
    supervisor = UserFactory(roles=["floor_supervisor"])
    from campaigns.models import Agent

    Agent.objects.create(user=supervisor, floor=mine, code="SUP-1", languages=["fr"])
    campaign = CampaignFactory(countries=["FR"])
    own = number_in("FR", zone="Europe/Paris")
    other = number_in("FR", zone="Europe/Paris")
    LeadFactory(campaign=campaign, phone_number=own, floor=mine)
    LeadFactory(campaign=campaign, phone_number=other, floor=theirs)
    client = client_for(supervisor)
    at = "2026-03-31T11:00:00+02:00"
    assert (
        client.get(
            "/api/v1/callability/", {"phone_number": own.pk, "campaign": campaign.pk, "at": at}
        ).status_code
        == 200
    )
    assert (
        client.get(
            "/api/v1/callability/", {"phone_number": other.pk, "campaign": campaign.pk, "at": at}
        ).status_code
        == 404
    )


def test_agent_cannot_ask_callability():
    agent = UserFactory(roles=["agent"])
    response = client_for(agent).get("/api/v1/callability/", {"phone_number": "1", "campaign": "1"})
    assert response.status_code == 403
