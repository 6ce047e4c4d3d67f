"""Tasks of list building and distribution: each takes primary keys and calls one service."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="campaigns.build_list", soft_time_limit=50 * 60, time_limit=55 * 60)
def build_list_task(list_build_id: int) -> dict:
    """Run a queued ListBuild; a job already running or done is left alone (idempotent)."""
    from campaigns.services.lists import run_list_build

    build = run_list_build(build_id=list_build_id, now=timezone.now())
    return {"list_build": build.pk, "status": build.status, "added": build.added}


@shared_task(name="campaigns.rebalance_campaign", soft_time_limit=9 * 60, time_limit=10 * 60)
def rebalance_campaign_task(campaign_id: int) -> dict:
    """Re-split a campaign's unleased open leads over the floors as they are now (idempotent: a
    second run with nothing changed moves nothing)."""
    from campaigns.models import Campaign
    from campaigns.services.distribution import rebalance_campaign

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"campaign": campaign_id, "moved": 0}
    result = rebalance_campaign(campaign=campaign, now=timezone.now())
    return {"campaign": campaign_id, **result.as_dict()}
