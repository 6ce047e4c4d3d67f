"""Issue 6, promise 1: a lead is in at most one live lease under real concurrency.

Several threads, each with its own database connection, lease from the same floor at once until
the queue is empty. PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite (a file database): IMMEDIATE
transactions serialise the claimants.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from campaigns.models import Lead, Lease
from campaigns.services.leases import lease_leads
from tests.campaigns.leasing import NOW, callable_lead, dialler, policies, running_campaign
from tests.factories import FloorFactory

THREADS = 6
LEADS = 120
BATCH = 7


def _lease_concurrently():
    policies()
    floor = FloorFactory(code="concurrency")
    campaign = running_campaign()
    for _ in range(LEADS):
        callable_lead(campaign=campaign, floor=floor)
    integrations = [dialler(floor, name=f"dialler-{i}")[0] for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    got: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(LEADS):  # bounded: at most one round per lead
                outcome = lease_leads(integration=integrations[i], floor=floor, size=BATCH, now=NOW)
                if outcome.lease is None:
                    break
                got[i].extend(lead.pk for lead in outcome.leads)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    handed = [pk for ids in got for pk in ids]
    duplicates = [pk for pk, n in Counter(handed).items() if n > 1]
    assert duplicates == []
    assert len(handed) == LEADS
    assert Lead.objects.filter(state=Lead.State.LEASED).count() == LEADS
    # Each lead points at the lease of the thread that received it.
    owners = dict(Lead.objects.values_list("pk", "lease__integration_id"))
    for i, ids in enumerate(got):
        assert {owners[pk] for pk in ids} <= {integrations[i].pk}
    # `lease` and `last_lease` carry no database constraint (campaigns/models/leads.py): every
    # reference the claims wrote names a lease row, and each lease holds the leads it counted.
    leases = dict(Lease.objects.values_list("pk", "leased_count"))
    references = Lead.objects.values_list("lease_id", "last_lease_id")
    assert {ref for pair in references for ref in pair} == set(leases)
    held = Counter(Lead.objects.values_list("lease_id", flat=True))
    assert held == Counter(leases)
    return got


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_leases_never_share_a_lead_on_postgresql():
    got = _lease_concurrently()
    # SKIP LOCKED lets every thread work at once instead of queueing behind one another.
    assert sum(1 for ids in got if ids) >= 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_leases_never_share_a_lead_on_the_configured_database():
    if connection.vendor == "sqlite":
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    _lease_concurrently()
