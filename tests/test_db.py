"""config.db.prepared_cursor: hot hand-written statements planned once per connection (issue 6)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from config.db import prepared_cursor
from config.settings.base import database_from_env
from tests.campaigns.leasing import NOW

SQL = "SELECT %s::int + 1 AS tm_prepared_probe"


def _prepared_probes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%tm_prepared_probe%"]
        )
        return cursor.fetchone()[0]


def test_postgresql_settings_enable_prepared_statements_unless_told_not_to(monkeypatch):
    url = "postgres://postgres@127.0.0.1:5432/anything"
    monkeypatch.delenv("DB_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DB_GENERIC_PLANS", raising=False)
    options = database_from_env(url)["OPTIONS"]
    assert options == {"prepare_threshold": 0, "options": "-c plan_cache_mode=force_generic_plan"}
    # Added to the startup options the URL gives, not instead of them.
    options = database_from_env(url + "?options=-c%20statement_timeout%3D5000")["OPTIONS"]
    assert options["options"] == "-c statement_timeout=5000 -c plan_cache_mode=force_generic_plan"
    monkeypatch.setenv("DB_GENERIC_PLANS", "false")  # behind PgBouncer: prepared, no startup option
    assert database_from_env(url)["OPTIONS"] == {"prepare_threshold": 0}
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    monkeypatch.delenv("DB_GENERIC_PLANS")
    assert database_from_env(url).get("OPTIONS", {}) == {}
    assert "prepare_threshold" not in database_from_env("sqlite:///var/x.sqlite3")["OPTIONS"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_is_prepared_at_its_first_run_and_reused():
    assert _prepared_probes() == 0
    with prepared_cursor() as cursor:
        cursor.execute(SQL, [0])
        assert cursor.fetchone() == (1,)
    assert _prepared_probes() == 1  # prepared at the first run
    for i in range(1, 8):
        with prepared_cursor() as cursor:
            cursor.execute(SQL, [i])
            assert cursor.fetchone() == (i + 1,)
    assert _prepared_probes() == 1  # reused, not prepared again


@pytest.mark.postgres
@pytest.mark.django_db
def test_with_prepared_statements_off_it_is_the_plain_cursor(monkeypatch):
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")
    for i in range(8):
        with prepared_cursor() as cursor:
            cursor.execute(SQL, [i])
            assert cursor.fetchone() == (i + 1,)
    assert _prepared_probes() == 0


@pytest.mark.django_db
def test_errors_come_out_as_django_database_errors():
    with pytest.raises(DatabaseError, match="no_such_table"), prepared_cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table WHERE id = %s", [1])


@pytest.mark.django_db
def test_a_compiled_query_returns_what_the_orm_returns_and_compiles_once(monkeypatch):
    import datetime as dt

    from django.db.models.sql.compiler import SQLCompiler
    from knox.models import AuthToken

    from campaigns.services.diallers import issue_dialler_credential
    from config.db import CompiledQuery
    from tests.factories import FloorFactory, UserFactory

    now = dt.datetime(2026, 11, 22, 18, 0, tzinfo=dt.UTC)
    integration, _ = issue_dialler_credential(
        name="lyon-d", floors=[FloorFactory(code="lyon")], actor=None, now=now
    )
    person = UserFactory(username="alice")
    AuthToken.objects.create(user=person, expiry=dt.timedelta(hours=1))

    def orm(user_id):
        return list(
            AuthToken.objects.filter(user_id=user_id).select_related("user", "user__dialler_integration")
        )

    query = CompiledQuery(
        lambda user_id: AuthToken.objects.filter(user_id=user_id).select_related(
            "user", "user__dialler_integration"
        )
    )
    compiled = []
    real_as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or real_as_sql(self, *a, **k)
    )
    for user in (integration.user, person, integration.user):
        ours, theirs = query(user.pk), orm(user.pk)
        assert [t.pk for t in ours] == [t.pk for t in theirs] and len(ours) == 1
        token, expected = ours[0], theirs[0]
        assert (token.digest, token.token_key, token.expiry, token.created) == (
            expected.digest,
            expected.token_key,
            expected.expiry,
            expected.created,
        )
        assert token.expiry is None or token.expiry.tzinfo is not None  # converters applied
        assert token._state.adding is False and token._state.db == "default"
        # The related objects came with the row: reading them sends no query.
        with CaptureQueriesContext(connection) as queries:
            user_obj = token.user
            has_integration = hasattr(user_obj, "dialler_integration")
        assert len(queries) == 0
        assert (user_obj.pk, user_obj.username, user_obj.is_active) == (user.pk, user.username, True)
        assert has_integration == (user.pk == integration.user.pk)
        if has_integration:
            assert user_obj.dialler_integration.pk == integration.pk
    # The ORM queries above compiled 3 times; the compiled query once.
    assert len(compiled) == 3 + 1
    assert query(999_999) == []


def test_a_query_whose_parameters_are_not_its_arguments_is_refused():
    from django.db.models.functions import Lower

    from campaigns.models import Floor
    from config.db import CompiledQuery

    query = CompiledQuery(lambda code: Floor.objects.annotate(low=Lower("code")).filter(low=code, pk__gt=0))
    with pytest.raises(ValueError, match="are not the arguments"):
        query("lyon")


@pytest.mark.django_db
def test_insert_writes_the_row_save_writes():
    import datetime as dt
    import uuid

    from django.forms.models import model_to_dict

    from campaigns.models import Lease
    from campaigns.services.diallers import issue_dialler_credential
    from config.db import insert
    from tests.factories import FloorFactory

    now = dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt.UTC)
    floor = FloorFactory(code="lyon")
    integration, _ = issue_dialler_credential(name="lyon-d", floors=[floor], actor=None, now=now)

    def lease(**kw):
        return Lease(
            integration=integration,
            floor=floor,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=5),
            requested_size=100,
            leased_count=97,
            **kw,
        )

    ours, theirs = lease(id=uuid.UUID(int=1)), lease(id=uuid.UUID(int=2))
    insert(ours)
    theirs.save(force_insert=True)
    assert ours._state.adding is False and ours._state.db == "default"
    stored = {row.pk: model_to_dict(row, exclude=["id"]) for row in Lease.objects.all()}
    assert stored[ours.pk] == stored[theirs.pk]
    assert stored[ours.pk]["expires_at"] == now + dt.timedelta(minutes=5)
    assert stored[ours.pk]["leased_count"] == 97 and stored[ours.pk]["campaign"] is None
    with pytest.raises(DatabaseError):  # an INSERT, never an update of an existing row
        with transaction.atomic():
            insert(lease(id=uuid.UUID(int=1)))


@pytest.mark.django_db
def test_insert_of_several_rows_writes_what_save_writes_in_one_statement_on_postgresql(
    django_assert_num_queries,
):
    """The lease and its audit entry: one statement on PostgreSQL (a WITH per INSERT), one per row on
    SQLite; the same rows as save(), the database-made key set back on the instance."""
    import datetime as dt
    import uuid

    from django.db import connection
    from django.forms.models import model_to_dict

    from campaigns.models import Lease
    from campaigns.services.diallers import issue_dialler_credential
    from config.db import insert
    from contacts.models import AuditEntry
    from contacts.services.audit import audit_entry
    from tests.factories import FloorFactory

    now = dt.datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=dt.UTC)
    floor = FloorFactory(code="lyon")
    integration, _ = issue_dialler_credential(name="lyon-d", floors=[floor], actor=None, now=now)

    def pair(n):
        lease = Lease(
            id=uuid.UUID(int=n),
            integration=integration,
            floor=floor,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=5),
            requested_size=100,
            leased_count=n,
        )
        entry = audit_entry(integration.user, "campaigns.leads.leased", lease, {"lead_ids": [n, 7]}, at=now)
        return lease, entry

    (ours, our_entry), (theirs, their_entry) = pair(1), pair(2)
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        insert(ours, our_entry)
    theirs.save(force_insert=True)
    their_entry.save(force_insert=True)
    assert our_entry.pk is not None and our_entry.pk != their_entry.pk
    assert [i._state.adding for i in (ours, our_entry)] == [False, False]
    leases = {row.pk: model_to_dict(row, exclude=["id"]) for row in Lease.objects.all()}
    assert leases[ours.pk] == {**leases[theirs.pk], "leased_count": 1}
    entries = {row.pk: model_to_dict(row, exclude=["id"]) for row in AuditEntry.objects.all()}
    assert entries[our_entry.pk] == {
        **entries[their_entry.pk],
        "target_id": str(ours.pk),
        "target_repr": str(ours),
        "details": {"lead_ids": [1, 7]},
    }
    assert entries[our_entry.pk]["actor"] == integration.user.pk
    assert entries[our_entry.pk]["action"] == "campaigns.leads.leased"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_lease_claim_is_planned_once_per_connection_not_at_every_lease():
    """Left to choose, PostgreSQL planned the claim again at every lease (a custom plan each time,
    ~1 ms of its CPU); held to the generic plan, it plans it once."""
    from campaigns.services.leases import lease_leads
    from tests.campaigns.leasing import leasing_scene

    scene = leasing_scene(leads=8)
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
    for _ in range(8):
        outcome = lease_leads(integration=scene.integration, floor=scene.floor, size=1, now=NOW)
        assert len(outcome.leads) == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["WITH picked AS%"],
        )
        assert cursor.fetchall() == [(8, 0)]
