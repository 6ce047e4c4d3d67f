"""The lease configuration kept in memory (`campaigns.selectors.lease_config`): used while nothing
changed, never a request late after a change, whatever wrote it.

Transactional tests: the version triggers run at commit on PostgreSQL, which a test wrapped in a
transaction never reaches.
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction

from campaigns.models import (
    Campaign,
    ConfigVersion,
    CountryPolicy,
    DiallerIntegration,
    Floor,
    Lead,
    RecordingNotice,
)
from campaigns.selectors import lease_config as config_module
from campaigns.selectors.lease_config import config_version, lease_config
from campaigns.services.campaigns import transition_campaign
from campaigns.services.diallers import mark_dialler_used
from tests.campaigns.leasing import NOW, callable_lead, dialler, leasing_scene, policies, running_campaign
from tests.factories import FloorFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
LEASES = "/api/v1/dialler/leases/"


def _version() -> int:
    return ConfigVersion.objects.get(pk=1).version


@pytest.fixture(autouse=True)
def _fresh_cache():
    config_module.forget()
    yield
    config_module.forget()


def test_every_write_to_the_configuration_changes_the_version_and_nothing_else_does():
    policies()
    floor = FloorFactory(code="lille-1")
    campaign = running_campaign(name="Model E test drives")
    integration, _ = dialler(floor)
    seen = [_version()]

    def changed() -> bool:
        seen.append(_version())
        return seen[-1] != seen[-2]

    Campaign.objects.filter(pk=campaign.pk).update(name="Model E")  # QuerySet.update: no signal
    assert changed()
    CountryPolicy.objects.filter(country="FR").update(label="FR (edited)")
    assert changed()
    notice = RecordingNotice.objects.create(
        country="FR",
        language="fr",
        mode="inform_object",
        text="Appel enregistré.",
        effective_from=dt.date(2026, 1, 1),
    )
    assert changed()
    RecordingNotice.objects.filter(pk=notice.pk).delete()
    assert changed()
    Floor.objects.filter(pk=floor.pk).update(time_zone="Europe/Paris")
    assert changed()
    other = FloorFactory(code="lille-2")
    assert changed()
    integration.floors.add(other)  # the dialler's scope (M2M rows)
    assert changed()
    with connection.cursor() as cursor:  # a write that bypasses Django entirely
        cursor.execute("UPDATE campaigns_campaign SET priority = priority + 1")
    assert changed()

    # Reads, lead work and the credential's last use (written at every dialler request) do not.
    list(Campaign.objects.all())
    callable_lead(campaign=campaign, floor=floor)
    mark_dialler_used(integration=integration, now=NOW + dt.timedelta(days=1))
    DiallerIntegration.objects.filter(pk=integration.pk).update(name="renamed")
    assert not changed()
    # Never the same value twice, even across rolled-back changes.
    with pytest.raises(RuntimeError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(name="rolled back")
        raise RuntimeError
    Campaign.objects.filter(pk=campaign.pk).update(name="again")
    assert changed()
    assert len(set(seen)) == len(seen) - 1  # the one repeat is the unchanged step above


def test_the_copy_is_reused_until_a_change_commits(django_assert_num_queries):
    policies()
    campaign = running_campaign(name="Model E test drives")
    first = lease_config()
    assert set(first.running) == {campaign.pk}
    assert first.book.at("FR", NOW) is not None
    with django_assert_num_queries(1):  # the version only
        assert lease_config() is first

    transition_campaign(campaign=campaign, to=Campaign.Status.PAUSED, actor=None, now=NOW)
    paused = lease_config()
    assert paused is not first
    assert paused.running == {}
    with django_assert_num_queries(1):
        assert lease_config() is paused


def test_leasing_sees_each_change_at_the_next_request(django_assert_num_queries):
    scene = leasing_scene(leads=10)
    floor, campaign, leads, integration, api = (
        scene.floor,
        scene.campaign,
        scene.leads,
        scene.integration,
        scene.client,
    )

    def lease():
        return api.post(LEASES, {"size": 1}, format="json")

    with time_machine.travel(NOW, tick=False):
        assert lease().json()["count"] == 1  # warms the copy (and writes the credential's first use)
        # Warm: token, permissions, version, expiry probe, savepoint, candidates (PostgreSQL claims
        # in the same statement; SQLite: callbacks, the rest, the claim), suppressions, consents,
        # attempts, lease row and audit entry (one statement on PostgreSQL, two on SQLite), release
        # savepoint.
        with django_assert_num_queries(11 if connection.vendor == "postgresql" else 14):
            assert lease().json()["count"] == 1

        # A paused campaign: not one more lead, from the next request on.
        transition_campaign(campaign=campaign, to=Campaign.Status.PAUSED, actor=None, now=NOW)
        body = lease().json()
        assert (body["count"], body["empty"]["reason"]) == (0, "no_running_campaign")
        transition_campaign(campaign=campaign, to=Campaign.Status.RUNNING, actor=None, now=NOW)
        assert lease().json()["count"] == 1

        # A country policy whose hours no longer include 10:30 in Paris (changed by a bulk update,
        # which sends no signal): held back until 14:00 (the request checks at most 4 × its size).
        windows = CountryPolicy.objects.filter(country="FR").values_list("pk", "windows")
        saved = dict(windows)
        CountryPolicy.objects.filter(country="FR").update(
            windows={str(d): [["14:00", "20:00"]] for d in range(5)}
        )
        body = lease().json()
        assert (body["count"], body["empty"]["reason"]) == (0, "held_at_handover")
        assert body["empty"]["counts"]["checked:outside_hours"] == 4
        for pk, value in saved.items():
            CountryPolicy.objects.filter(pk=pk).update(windows=value)

        # A new notice version: played from the next lease on.
        RecordingNotice.objects.create(
            country="FR",
            language="fr",
            version=7,
            mode="inform_object",
            text="v7",
            effective_from=dt.date(2026, 1, 1),
        )
        item = lease().json()["items"][0]
        assert (item["notice"]["version"], item["notice"]["text"]) == (7, "v7")

        # The dialler taken off the floor: refused at once.
        integration.floors.remove(floor)
        named = api.post(LEASES, {"size": 1, "floor": "dakar-1"}, format="json")
        assert (named.status_code, named.json()["detail"]) == (
            403,
            "floor: this dialler is not scoped to that floor.",
        )
        unnamed = lease()
        assert (unnamed.status_code, unnamed.json()["detail"]) == (
            403,
            "This dialler credential serves no floor.",
        )
    states = Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("state", "next_call_at")
    assert sorted((state, at) for state, at in states if state != Lead.State.PENDING or at) == sorted(
        [(Lead.State.LEASED, None)] * 4
        + [(Lead.State.PENDING, dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC))] * 4
    )


@pytest.mark.postgres
def test_a_transaction_that_wrote_reads_its_own_changes_not_the_copy():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's triggers change the version at the write itself")
    policies()
    campaign = running_campaign(name="Model E test drives")
    warm = lease_config()
    assert campaign.pk in warm.running
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
        assert config_version() is None  # written, not committed: the trigger has not run yet
        inside = lease_config()
        assert inside is not warm and inside.running == {}
        assert lease_config() is not inside  # nothing cached from inside
    assert lease_config().running == {}


def test_without_the_version_row_nothing_is_cached_and_the_next_write_restores_it():
    policies()
    campaign = running_campaign(name="Model E test drives")
    ConfigVersion.objects.all().delete()
    first = lease_config()
    assert first.version is None and campaign.pk in first.running
    assert lease_config() is not first
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    assert ConfigVersion.objects.filter(pk=1).exists()
    assert lease_config().running == {}


def test_every_kept_table_has_its_triggers():
    from campaigns import config_version

    kept = {model._meta.db_table for model in (Campaign, CountryPolicy, RecordingNotice, Floor)}
    kept.add(DiallerIntegration.floors.through._meta.db_table)
    assert set(config_version.VERSIONED_TABLES) == kept
    assert config_version.missing(connection) == []


def test_a_missing_trigger_stops_the_caching_until_migrate_puts_it_back():
    from django.core.management import call_command

    from campaigns import config_version

    policies()
    name = config_version.trigger_names(connection.vendor)[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'DROP TRIGGER "{name}" ON campaigns_campaign')
        else:
            cursor.execute(f'DROP TRIGGER "{name}"')
    assert config_version.missing(connection) == [name]
    assert lease_config() is not lease_config()  # read at every request while one is missing

    call_command("migrate", verbosity=0)  # nothing to apply; post_migrate puts the trigger back
    assert config_version.missing(connection) == []
    assert lease_config() is lease_config()


def test_a_sqlite_table_rebuild_drops_the_triggers_and_install_restores_them():
    """What a migration altering a column does on SQLite (copy, drop, rename): the reason the
    triggers are installed again after every migrate."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL alters tables in place and keeps their triggers")
    from campaigns import config_version

    with connection.schema_editor() as editor:
        editor._remake_table(Campaign)
    assert config_version.missing(connection) == [
        "campaigns_campaign_config_version_insert",
        "campaigns_campaign_config_version_update",
        "campaigns_campaign_config_version_delete",
    ]
    config_version.install(connection)
    assert config_version.missing(connection) == []
    before = _version()
    policies()
    running_campaign(name="after the rebuild")
    assert _version() != before
