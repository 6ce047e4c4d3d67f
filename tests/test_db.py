"""config.db.prepared_cursor: hot hand-written statements planned once per connection (issue 6)."""

import pytest
from django.db import DatabaseError, connection

from config.db import prepared_cursor
from config.settings.base import database_from_env

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
    assert database_from_env(url)["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    assert "prepare_threshold" not in database_from_env(url).get("OPTIONS", {})
    assert "prepare_threshold" not in database_from_env("sqlite:///var/x.sqlite3")["OPTIONS"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_is_prepared_once_the_connection_has_run_it_five_times():
    for i in range(4):
        with prepared_cursor() as cursor:
            cursor.execute(SQL, [i])
            assert cursor.fetchone() == (i + 1,)
    assert _prepared_probes() == 0
    for i in range(4, 8):
        with prepared_cursor() as cursor:
            cursor.execute(SQL, [i])
            assert cursor.fetchone() == (i + 1,)
    assert _prepared_probes() == 1  # prepared on the 5th run, reused after


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
