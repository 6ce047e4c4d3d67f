"""Issue 5: call-list building with the country rules' static checks, exclusions counted by reason,
idempotent rebuilds, never a number twice in one campaign."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from campaigns.models import Lead, ListBuild
from campaigns.services.lists import (
    _insert_leads,
    build_batch,
    exclusion_report,
    request_list_build,
    run_list_build,
)
from contacts.models import AuditEntry, PhoneNumber, Prospect
from tests.campaigns.rules_factories import ConsentFactory, suppress
from tests.factories import CampaignFactory, FloorFactory, PhoneNumberFactory, ProspectFactory

pytestmark = pytest.mark.django_db
# A Monday; France is opt-in since 2026-08-11, so every FR callee needs a consent.
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
BEFORE = NOW - dt.timedelta(days=1)


@pytest.fixture
def campaign():
    FloorFactory(code="lyon", languages=["fr"], callee_countries=["FR"])
    return CampaignFactory(countries=["FR"], selection={"sources": ["spring-fair"]})


def consented(campaign, n=1, **prospect):
    """Prospects with one valid French mobile each and a telemarketing consent to this advertiser."""
    numbers = []
    for _ in range(n):
        number = PhoneNumberFactory(
            prospect__source="spring-fair", **{f"prospect__{k}": v for k, v in prospect.items()}
        )
        ConsentFactory(prospect=number.prospect, advertiser=campaign.advertiser)
        numbers.append(number)
    return numbers


@pytest.fixture
def universe(campaign):
    """Ten French prospects of the fair and their fates, plus two outside the campaign."""
    fates = {"ok": consented(campaign, 4)}
    fates["suppressed"] = consented(campaign)[0]
    suppress(fates["suppressed"].e164, created_at=BEFORE)
    fates["no_consent"] = PhoneNumberFactory(prospect__source="spring-fair")
    fates["invalid"] = consented(campaign)[0]
    PhoneNumber.objects.filter(pk=fates["invalid"].pk).update(is_valid=False)
    fates["toll_free"] = consented(campaign)[0]
    PhoneNumber.objects.filter(pk=fates["toll_free"].pk).update(number_type="toll_free")
    # Two numbers, the first suppressed: the prospect is called on the second.
    two = consented(campaign)[0]
    second = PhoneNumberFactory(prospect=two.prospect)
    suppress(two.e164, created_at=BEFORE)
    fates["second_number"] = (two, second)
    fates["no_number"] = ProspectFactory(source="spring-fair")
    fates["erased"] = consented(campaign)[0]
    Prospect.objects.filter(pk=fates["erased"].prospect_id).update(erased_at=BEFORE)
    # Same country, another source: not selected.
    fates["other_source"] = PhoneNumberFactory(prospect__source="web")
    ConsentFactory(prospect=fates["other_source"].prospect, advertiser=campaign.advertiser)
    # Another country: not in the campaign's universe at all.
    PhoneNumberFactory(prospect__country="DE", prospect__source="spring-fair", region="DE")
    return fates


def build(campaign, django_capture_on_commit_callbacks, *, now=NOW):
    with django_capture_on_commit_callbacks(execute=True):
        job, created = request_list_build(campaign=campaign, actor=None, now=now)
    assert created
    job.refresh_from_db()
    return job


def test_build_adds_the_callable_and_counts_every_exclusion_by_reason(
    campaign, universe, django_capture_on_commit_callbacks
):
    job = build(campaign, django_capture_on_commit_callbacks)

    assert (job.status, job.kind, job.error) == ("done", "build", "")
    assert job.prospects_total == job.prospects_scanned == 12  # the FR prospects, any source
    assert job.matched == 11
    assert job.added == 5
    assert job.excluded == {
        "not_matching_selection": 1,
        "suppressed": 1,
        "no_consent": 1,
        "invalid_number": 1,
        "number_type": 1,
        "erased": 1,
        "no_callable_number": 1,
    }
    assert job.added + job.excluded_total == job.prospects_scanned
    leads = Lead.objects.filter(campaign=campaign)
    expected = {n.pk for n in universe["ok"]} | {universe["second_number"][1].pk}
    assert set(leads.values_list("phone_number_id", flat=True)) == expected
    assert set(leads.values_list("state", "floor__code", "priority")) == {
        ("pending", "lyon", campaign.priority)
    }
    assert job.distribution["assigned"] == {"lyon": 5}
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "campaigns.list.build_requested",
        "campaigns.list.build_done",
    ]


def test_exclusion_report_is_readable_and_sorted(campaign, universe, django_capture_on_commit_callbacks):
    job = build(campaign, django_capture_on_commit_callbacks)
    report = exclusion_report(job)
    assert report["excluded_total"] == 7
    assert report["excluded"][0] == {
        "reason": "erased",
        "label": "Personal data erased (GDPR art. 17)",
        "prospects": 1,
    }
    assert {r["reason"]: r["label"] for r in report["excluded"]}["no_consent"] == (
        "No valid consent for this advertiser"
    )


def test_rebuild_adds_newly_eligible_and_never_resets_existing_leads(
    campaign, universe, django_capture_on_commit_callbacks
):
    build(campaign, django_capture_on_commit_callbacks)
    worked = Lead.objects.get(phone_number=universe["ok"][0])
    Lead.objects.filter(pk=worked.pk).update(state="done", done_reason="success", attempts=2, floor=None)
    before = {lead.pk: (lead.state, lead.attempts, lead.floor_id) for lead in Lead.objects.all()}
    # Newly eligible: the prospect without consent gives one.
    ConsentFactory(prospect=universe["no_consent"].prospect, advertiser=campaign.advertiser)

    job = build(campaign, django_capture_on_commit_callbacks, now=NOW + dt.timedelta(hours=1))

    assert (job.kind, job.added) == ("rebuild", 1)
    assert job.excluded["already_in_list"] == 5
    assert "no_consent" not in job.excluded
    after = {lead.pk: (lead.state, lead.attempts, lead.floor_id) for lead in Lead.objects.all()}
    assert {pk: after[pk] for pk in before} == before
    assert Lead.objects.get(phone_number=universe["no_consent"]).floor.code == "lyon"

    # And a third run adds nothing at all.
    again = build(campaign, django_capture_on_commit_callbacks, now=NOW + dt.timedelta(hours=2))
    assert again.added == 0
    assert again.excluded["already_in_list"] == 6
    assert Lead.objects.count() == 6


def test_no_number_twice_in_a_campaign(campaign, universe, django_capture_on_commit_callbacks):
    build(campaign, django_capture_on_commit_callbacks)
    leads = Lead.objects.filter(campaign=campaign)
    numbers = list(leads.values_list("phone_number_id", flat=True))
    assert len(numbers) == len(set(numbers)) == 5
    # A second insert racing the first (no "already in list" filter at all) inserts nothing.
    with transaction.atomic():
        selected = PhoneNumber.objects.filter(prospect__source="spring-fair")
        assert _insert_leads(campaign=campaign, numbers=selected, at=NOW) == 0
    assert leads.count() == 5
    # The database itself refuses a second lead on one number.
    lead = leads.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(campaign=campaign, prospect=ProspectFactory(), phone_number=lead.phone_number)
    assert leads.count() == 5


def test_the_same_prospects_in_another_campaign_are_leads_there_too(
    campaign, universe, django_capture_on_commit_callbacks
):
    build(campaign, django_capture_on_commit_callbacks)
    other = CampaignFactory(
        advertiser=campaign.advertiser, countries=["FR"], selection={"sources": ["spring-fair"]}
    )
    assert build(other, django_capture_on_commit_callbacks).added == 5
    assert Lead.objects.count() == 10


def test_selection_criteria(campaign, django_capture_on_commit_callbacks):
    vip = consented(campaign, 1, tags=["vip", "suv"], is_customer=True, region="69", postcode="69003")[0]
    consented(campaign, 1, tags=["suv"], is_customer=True, region="69", postcode="69003")
    consented(campaign, 1, tags=["vip"], is_customer=False, region="69", postcode="69003")
    consented(campaign, 1, tags=["vip"], is_customer=True, region="75", postcode="75011")
    recent = consented(campaign, 1, tags=["vip"], is_customer=True, region="69", postcode="69100")[0]
    Prospect.objects.filter(pk=recent.prospect_id).update(last_contact_at=NOW - dt.timedelta(days=3))
    campaign.selection = {
        "sources": ["spring-fair"],
        "tags": ["vip"],
        "audience": "customers",
        "postcodes": ["69"],
        "not_contacted_days": 30,
        "languages": ["fr"],
    }
    campaign.save()
    job = build(campaign, django_capture_on_commit_callbacks)
    assert (job.matched, job.added) == (1, 1)
    assert job.excluded == {"not_matching_selection": 4}
    assert Lead.objects.get().phone_number == vip


def test_build_batches_count_the_same_as_one_pass(campaign, universe, monkeypatch):
    from campaigns.services import lists

    ids = sorted(Prospect.objects.filter(country="FR").values_list("id", flat=True))
    monkeypatch.setattr(lists, "BATCH_SIZE", 3)
    job = ListBuild.objects.create(campaign=campaign, created_at=NOW)
    job = run_list_build(build_id=job.pk, now=NOW)
    assert job.status == "done"
    assert (job.prospects_scanned, job.added) == (len(ids), 5)
    assert job.excluded["no_consent"] == 1
    # Running the same job again is a no-op (the task is idempotent).
    assert run_list_build(build_id=job.pk, now=NOW).added == 5
    assert Lead.objects.count() == 5


def test_one_batch_directly(campaign, universe):
    with transaction.atomic():
        stats = build_batch(campaign=campaign, id_from=0, id_to=10**12, at=NOW)
    assert stats["added"] == 5 and stats["scanned"] == 12


def test_second_request_while_one_is_pending_returns_the_same_job(campaign):
    first, created = request_list_build(campaign=campaign, actor=None, now=NOW)
    second, created_again = request_list_build(campaign=campaign, actor=None, now=NOW)
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    assert ListBuild.objects.count() == 1


def test_a_build_whose_worker_died_does_not_block_the_campaign(campaign):
    stuck = ListBuild.objects.create(
        campaign=campaign, status="running", created_at=NOW, started_at=NOW - dt.timedelta(hours=2)
    )
    job, created = request_list_build(campaign=campaign, actor=None, now=NOW)
    assert created and job.pk != stuck.pk
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error) == ("failed", "The worker running this build stopped.")
    recent = ListBuild.objects.filter(pk=job.pk)
    recent.update(status="running", started_at=NOW - dt.timedelta(minutes=10))
    assert request_list_build(campaign=campaign, actor=None, now=NOW) == (recent.get(), False)


def test_a_failed_build_says_why(campaign, universe, monkeypatch):
    from campaigns.services import lists

    def broken(*args, **kwargs):
        raise RuntimeError("rules unavailable")

    monkeypatch.setattr(lists, "callable_number_rules", broken)
    job = ListBuild.objects.create(campaign=campaign, created_at=NOW)
    job = run_list_build(build_id=job.pk, now=NOW)
    assert (job.status, job.error) == ("failed", "RuntimeError: rules unavailable")
    assert Lead.objects.count() == 0
