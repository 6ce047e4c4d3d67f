"""Reads of recordings and the compliance reports on notices and retention.

Reports compare countries, campaigns and floors, never agents (DOMAIN promise 7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf, TruncDate

from campaigns.models import Attempt, OutcomeCode, Recording

DUE_SOON_DAYS = 7


def reached_q() -> Q:
    """The attempt reached a person (a notice was owed): answered, or an outcome other than no contact."""
    return Q(answered_at__isnull=False) | ~Q(outcome__category=OutcomeCode.Category.NO_CONTACT)


def reached_callee(attempt: Attempt) -> bool:
    return attempt.answered_at is not None or attempt.outcome.category != OutcomeCode.Category.NO_CONTACT


def non_compliant_q() -> Q:
    """Reached the callee without a played notice (CNIL: inform before recording; DE: ask first)."""
    return reached_q() & ~Q(notice_played=True)


def _country_expr():
    # The notice's country when one was played, else the callee's, else the number's region.
    return Coalesce(
        NullIf(F("notice__country"), Value("")),
        NullIf(F("prospect__country"), Value("")),
        NullIf(F("phone_number__region"), Value("")),
        Value(""),
    )


def _scoped(queryset: QuerySet, floors: Iterable[int] | None, floor_field: str) -> QuerySet:
    if floors is None:
        return queryset
    return queryset.filter(**{f"{floor_field}__in": list(floors)})


def _period(queryset: QuerySet, start: dt.datetime | None, end: dt.datetime | None, field: str) -> QuerySet:
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


def notices_played_report(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    floors: Iterable[int] | None = None,
    campaign_id: int | None = None,
) -> list[dict]:
    """Per callee country and campaign: attempts that reached someone, notices played, answers,
    and the non-compliant count. One query."""
    queryset = _period(_scoped(Attempt.objects.all(), floors, "floor_id"), start, end, "started_at")
    if campaign_id is not None:
        queryset = queryset.filter(campaign_id=campaign_id)
    rows = (
        queryset.filter(reached_q() | Q(notice_played=True))
        .annotate(country=_country_expr())
        .values("country", "campaign_id", "campaign__name")
        .annotate(
            reached=Count("id", filter=reached_q()),
            played=Count("id", filter=Q(notice_played=True)),
            objected=Count("id", filter=Q(notice_answer=Attempt.NoticeAnswer.OBJECTED)),
            consented=Count("id", filter=Q(notice_answer=Attempt.NoticeAnswer.CONSENTED)),
            no_answer=Count("id", filter=Q(notice_answer=Attempt.NoticeAnswer.NO_ANSWER)),
            non_compliant=Count("id", filter=non_compliant_q()),
        )
        .order_by("country", "campaign_id")
    )
    return [
        {
            "country": row["country"],
            "campaign": row["campaign_id"],
            "campaign_name": row["campaign__name"],
            "reached": row["reached"],
            "played": row["played"],
            "objected": row["objected"],
            "consented": row["consented"],
            "no_answer": row["no_answer"],
            "non_compliant": row["non_compliant"],
        }
        for row in rows
    ]


def non_compliant_attempts(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    floors: Iterable[int] | None = None,
    campaign_id: int | None = None,
) -> QuerySet[Attempt]:
    """Attempts that reached the callee without a played notice, newest first, with the callee
    country annotated as `country` (no agent column: reports never name agents)."""
    queryset = _period(_scoped(Attempt.objects.all(), floors, "floor_id"), start, end, "started_at")
    if campaign_id is not None:
        queryset = queryset.filter(campaign_id=campaign_id)
    return (
        queryset.filter(non_compliant_q())
        .annotate(country=_country_expr())
        .select_related("campaign", "floor", "outcome", "notice")
        .order_by("-started_at", "-id")
    )


def recordings_due_for_purge(
    *, now: dt.datetime, days: int = DUE_SOON_DAYS, floors: Iterable[int] | None = None
) -> QuerySet[Recording]:
    """Recordings still holding media whose purge date falls before `now + days` (overdue ones
    included: they are what the next purge run will take), soonest first."""
    queryset = _scoped(Recording.objects.all(), floors, "attempt__floor_id")
    return (
        queryset.filter(purged_at__isnull=True, purge_after__lt=now + dt.timedelta(days=days))
        .select_related("attempt", "attempt__campaign")
        .order_by("purge_after", "id")
    )


def recordings_due_summary(*, now: dt.datetime, days: int = DUE_SOON_DAYS, floors=None) -> list[dict]:
    """`recordings_due_for_purge` counted per country and purge day (UTC)."""
    rows = (
        recordings_due_for_purge(now=now, days=days, floors=floors)
        .select_related(None)
        .annotate(day=TruncDate("purge_after", tzinfo=dt.UTC))
        .values("country", "day")
        .annotate(count=Count("id"))
        .order_by("day", "country")
    )
    return [{"country": r["country"], "day": r["day"], "count": r["count"]} for r in rows]


def playable_recordings(*, floors: Iterable[int] | None = None) -> QuerySet[Recording]:
    """Recordings the caller may list (scoped by floor); purged ones included, as proof."""
    return _scoped(Recording.objects.all(), floors, "attempt__floor_id").select_related(
        "attempt", "attempt__campaign"
    )
