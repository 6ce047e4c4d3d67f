"""Issue 5: campaign creation (default outcome codes), the status machine, audited transitions."""

import datetime as dt

import pytest

from campaigns.models import Campaign, OutcomeCode
from campaigns.services.campaigns import (
    CampaignError,
    IllegalTransition,
    create_campaign,
    transition_campaign,
    update_campaign,
)
from campaigns.services.outcomes import DEFAULT_OUTCOME_CODES, seed_default_outcome_codes
from contacts.models import AuditEntry
from tests.factories import AdvertiserFactory, CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def new_campaign(**extra):
    data = {
        "name": "Test drive of the new model in FR, BE, NL",
        "kind": "test_drive",
        "advertiser": AdvertiserFactory(code="carmaker"),
        "product": "Model E",
        "countries": ["fr", "BE", "NL"],
        "starts_on": dt.date(2026, 11, 1),
        "ends_on": dt.date(2027, 1, 31),
        **extra,
    }
    return create_campaign(data=data, actor=UserFactory(username="mgr"), now=NOW)


def seeded_campaign():
    campaign = CampaignFactory()
    seed_default_outcome_codes(campaign=campaign)
    return campaign


def test_ready_needs_outcome_codes():
    campaign = CampaignFactory()
    with pytest.raises(IllegalTransition, match="needs outcome codes"):
        transition_campaign(campaign=campaign, to="ready", actor=None, now=NOW)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_created_campaign_is_a_draft_with_the_default_outcome_codes():
    campaign = new_campaign(selection={"audience": "customers", "not_contacted_days": 30})
    assert campaign.status == "draft"
    assert campaign.countries == ["FR", "BE", "NL"]
    codes = {c.code: (c.category, c.action) for c in campaign.outcome_codes.all()}
    assert len(codes) == len(DEFAULT_OUTCOME_CODES) == 11
    assert codes["do_not_call"] == ("do_not_call", "suppress")
    assert codes["callback_requested"] == ("callback", "callback")
    assert codes["test_drive_booked"] == ("success", "final")
    assert codes["no_answer"] == ("no_contact", "retry")
    categories = {cat for cat, _ in codes.values()}
    assert categories == set(OutcomeCode.Category.values)
    assert list(AuditEntry.objects.values_list("action", "actor_label")) == [
        ("campaigns.campaign.created", "mgr")
    ]
    # Seeding again adds nothing and keeps a manager's edit.
    OutcomeCode.objects.filter(campaign=campaign, code="no_answer").update(retry_after_minutes=90)
    assert seed_default_outcome_codes(campaign=campaign) == 0
    assert campaign.outcome_codes.get(code="no_answer").retry_after_minutes == 90


@pytest.mark.parametrize(
    ("selection", "field", "message"),
    [
        ({"colour": "red"}, "selection", r"Unknown selection key\(s\): colour"),
        ({"countries": ["DE"]}, "selection.countries", "Not among the campaign's countries: DE"),
        ({"audience": "everyone"}, "selection.audience", "audience must be"),
        ({"not_contacted_days": -1}, "selection.not_contacted_days", "an integer from 0 to 3650"),
        ({"tags": "vip"}, "selection.tags", "list of non-empty strings"),
    ],
)
def test_bad_selection_is_refused_naming_the_field(selection, field, message):
    with pytest.raises(CampaignError, match=message) as info:
        new_campaign(selection=selection)
    assert info.value.field == field
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_full_lifecycle_each_transition_audited():
    campaign = new_campaign()
    actor = UserFactory(username="boss")
    for to in ["ready", "running", "paused", "running", "paused", "finished"]:
        campaign = transition_campaign(campaign=campaign, to=to, actor=actor, now=NOW)
        assert Campaign.objects.get(pk=campaign.pk).status == to
    actions = list(
        AuditEntry.objects.filter(actor_label="boss").order_by("id").values_list("action", "details")
    )
    assert actions == [
        ("campaigns.campaign.readied", {"from": "draft", "to": "ready"}),
        ("campaigns.campaign.started", {"from": "ready", "to": "running"}),
        ("campaigns.campaign.paused", {"from": "running", "to": "paused"}),
        ("campaigns.campaign.resumed", {"from": "paused", "to": "running"}),
        ("campaigns.campaign.paused", {"from": "running", "to": "paused"}),
        ("campaigns.campaign.finished", {"from": "paused", "to": "finished"}),
    ]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "running"),
        ([], "paused"),
        ([], "finished"),
        (["ready"], "paused"),
        (["ready", "running"], "ready"),
        (["ready", "running", "finished"], "running"),
        (["cancelled"], "draft"),
        (["ready", "running", "paused", "cancelled"], "running"),
    ],
)
def test_illegal_transition_is_refused_and_nothing_changes(path, illegal):
    campaign = seeded_campaign()
    for to in path:
        transition_campaign(campaign=campaign, to=to, actor=None, now=NOW)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()
    audits = AuditEntry.objects.count()
    with pytest.raises(IllegalTransition, match=f"cannot become {illegal}"):
        transition_campaign(campaign=campaign, to=illegal, actor=None, now=NOW + dt.timedelta(hours=1))
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before
    assert AuditEntry.objects.count() == audits


def test_unknown_status_is_refused():
    campaign = seeded_campaign()
    with pytest.raises(IllegalTransition, match="Unknown status 'launched'"):
        transition_campaign(campaign=campaign, to="launched", actor=None, now=NOW)
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_cancel_from_every_open_state():
    for path in ([], ["ready"], ["ready", "running"], ["ready", "running", "paused"]):
        campaign = seeded_campaign()
        for to in path:
            transition_campaign(campaign=campaign, to=to, actor=None, now=NOW)
        transition_campaign(campaign=campaign, to="cancelled", actor=None, now=NOW)
        assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"


def test_status_is_not_editable_and_a_finished_campaign_is_closed():
    campaign = new_campaign()
    with pytest.raises(CampaignError, match="with a transition"):
        update_campaign(campaign=campaign, data={"status": "running"}, actor=None, now=NOW)
    update_campaign(campaign=campaign, data={"priority": 8, "script": "Bonjour…"}, actor=None, now=NOW)
    assert AuditEntry.objects.filter(action="campaigns.campaign.changed").get().details == {
        "fields": ["priority", "script"]
    }
    for to in ("cancelled",):
        transition_campaign(campaign=campaign, to=to, actor=None, now=NOW)
    with pytest.raises(CampaignError, match="cancelled campaign cannot be edited"):
        update_campaign(campaign=campaign, data={"priority": 1}, actor=None, now=NOW)
    assert Campaign.objects.get(pk=campaign.pk).priority == 8
