"""Issue 6, promise 4 under concurrency: the same results posted twice at the same moment (a
dialler retrying on a timeout) are recorded once; the loser answers "duplicate"."""

import datetime as dt
import threading

import pytest
from django.db import connection

from campaigns.models import Attempt, Lead
from campaigns.services.leases import lease_leads
from campaigns.services.results import record_results
from tests.campaigns.leasing import NOW, callable_lead, dialler, policies, running_campaign
from tests.factories import FloorFactory

# Plain transactional tests (no serialized rollback): this file runs after other transactional tests
# whose flush recreated the role groups with new ids, which a serialized restore would collide
# with. Everything it needs (policies, groups) it creates itself.


def _post_twice_at_once():
    policies()
    floor = FloorFactory(code="race")
    campaign = running_campaign()
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(20)]
    integration = dialler(floor)[0]
    lease = lease_leads(integration=integration, floor=floor, size=20, now=NOW).lease
    items = [
        (
            i,
            {
                "call_id": f"race-{lead.pk}",
                "lead": lead.pk,
                "lease": lease.pk,
                "started_at": NOW + dt.timedelta(minutes=1),
                "outcome": "no-answer",
            },
        )
        for i, lead in enumerate(leads)
    ]
    barrier = threading.Barrier(2)
    answers: list[list[str]] = []
    errors: list[BaseException] = []

    def post():
        try:
            barrier.wait(timeout=30)
            statuses = record_results(integration=integration, items=items, now=NOW + dt.timedelta(minutes=2))
            answers.append([s.status for s in statuses])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(answers) == [["created"] * 20, ["duplicate"] * 20]
    assert Attempt.objects.count() == 20
    assert set(Lead.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_duplicate_posts_record_once_on_postgresql():
    _post_twice_at_once()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_duplicate_posts_record_once_on_the_configured_database():
    _post_twice_at_once()
