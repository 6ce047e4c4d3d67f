"""Which prospects and import jobs a caller may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

from campaigns.selectors.scoping import floor_ids_for
from contacts.models import ImportJob, PhoneNumber, Prospect


def prospects_visible_to(user: Any) -> QuerySet[Prospect]:
    """Every prospect for all-floor roles; for a floor-scoped caller, the prospects that have a lead
    on one of its floors (an EXISTS, not a join, so a prospect in two campaigns is listed once)."""
    queryset = Prospect.objects.all()
    floors = floor_ids_for(user)
    if floors is None:
        return queryset
    from campaigns.models import Lead

    return queryset.filter(Exists(Lead.objects.filter(prospect=OuterRef("pk"), floor_id__in=floors)))


def prospect_list(*, user: Any) -> QuerySet[Prospect]:
    return prospects_visible_to(user).annotate(number_count=Count("numbers")).order_by("-id")


def prospect_detail_queryset(*, user: Any) -> QuerySet[Prospect]:
    return prospects_visible_to(user).prefetch_related(
        Prefetch("numbers", queryset=PhoneNumber.objects.order_by("id"))
    )


def import_jobs_visible_to(user: Any) -> QuerySet[ImportJob]:
    """Imports are not floor business: who may view import jobs sees them all (their files are
    prospect data, so only roles that may view prospects hold `contacts.view_importjob`)."""
    return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
