"""Demo campaigns: a test drive in FR, BE, NL and an offer in DE, IT, ES, PT, both running, with
their lists built from the demo prospects (an empty list if there are none) and split across the
demo floors. Idempotent: a campaign is found by name, and a built list is not built again."""

from __future__ import annotations

import datetime as dt

from campaigns.models import Campaign, ListBuild
from campaigns.services.campaigns import create_campaign, transition_campaign
from campaigns.services.lists import run_list_build
from contacts.models import Advertiser

DEMO_CAMPAIGNS = [
    {
        "name": "Test drive of the new model in FR, BE, NL",
        "kind": "test_drive",
        "product": "Aurora E-5 electric SUV",
        "countries": ["FR", "BE", "NL"],
        "languages": ["fr", "nl"],
        "priority": 7,
        "selection": {"not_contacted_days": 14},
        "max_attempts": 6,
        "script": (
            "Bonjour, {agent} pour {advertiser}. Cet appel est enregistré (vous pouvez vous y opposer). "
            "Nous vous proposons d'essayer le nouvel Aurora E-5 chez votre concessionnaire…"
        ),
    },
    {
        "name": "Spring offer in DE, IT, ES, PT",
        "kind": "offer",
        "product": "Aurora C-3 spring financing offer",
        "countries": ["DE", "IT", "ES", "PT"],
        "languages": ["de", "it", "es", "pt"],
        "priority": 5,
        "selection": {"not_contacted_days": 30},
        "max_attempts": 4,
        "script": "Present the 0 % financing offer on the C-3; book a dealer visit if interested.",
    },
]


def _advertiser() -> Advertiser:
    # The demo consents are given to the first advertisers (compliance step): use the first one.
    advertiser = Advertiser.objects.order_by("id").first()
    if advertiser is None:
        advertiser = Advertiser.objects.create(code="aurora-motors", name="Aurora Motors")
    return advertiser


def load_campaigns(*, now, log) -> None:
    advertiser = _advertiser()
    for spec in DEMO_CAMPAIGNS:
        campaign = Campaign.objects.filter(name=spec["name"]).first()
        if campaign is None:
            campaign = create_campaign(
                data={
                    **spec,
                    "advertiser": advertiser,
                    "starts_on": now.date() - dt.timedelta(days=7),
                    "ends_on": now.date() + dt.timedelta(days=90),
                },
                actor=None,
                now=now,
            )
        for to in ("ready", "running"):
            if campaign.status == Campaign.Status.DRAFT and to == "ready":
                campaign = transition_campaign(campaign=campaign, to=to, actor=None, now=now)
            elif campaign.status == Campaign.Status.READY and to == "running":
                campaign = transition_campaign(campaign=campaign, to=to, actor=None, now=now)
        build = campaign.list_builds.filter(status=ListBuild.Status.DONE).first()
        if build is None:
            job = ListBuild.objects.create(campaign=campaign, created_at=now)
            build = run_list_build(build_id=job.pk, now=now)
        log(
            f"Campaign {campaign.name!r} ({campaign.status}): {build.added} leads, "
            f"{build.excluded_total} prospects excluded {build.excluded or ''}, "
            f"split {build.distribution.get('assigned', {})}"
        )
