"""The production gunicorn settings (`config/gunicorn.py`): warm workers, and a database down at
boot does not keep them from serving."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.urls import URLResolver, get_resolver

from api.authentication import _TOKENS_WITH_USER
from campaigns import config_version
from campaigns.models import Lead, Lease
from campaigns.selectors import lease_config as config_module
from config.warmup import warm_connection, warm_imports
from contacts.models import AuditEntry
from tests.factories import FloorFactory

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_warmed_process_serves_its_first_lease_configuration_from_memory(django_assert_num_queries):
    # Whatever earlier tests left: the version triggers in place and the version row written (a
    # flush between transactional tests empties every table, that row included).
    config_version.install(connection)
    FloorFactory(code="lyon-1")  # a configuration write: the triggers write the version row
    config_module.forget()
    _TOKENS_WITH_USER._compiled.clear()
    try:
        connection.close()
        warm_imports()
        warm_connection()
        assert connection.connection is not None
        assert set(_TOKENS_WITH_USER._compiled) == {"default"}  # the token lookup is compiled
        patterns = list(_walk(get_resolver()))
        assert len(patterns) > 100
        assert [p for p in patterns if "regex" not in p.pattern.__dict__] == []  # every one compiled
        # The version row only: campaigns, policies, notices and floors were read by the warm-up.
        with django_assert_num_queries(1):
            config = config_module.lease_config()
        assert [floor.code for floor in config.floors.values()] == ["lyon-1"]
        # Nothing was written; on PostgreSQL the claim and the lookups are prepared.
        assert (Lead.objects.count(), Lease.objects.count(), AuditEntry.objects.count()) == (0, 0, 0)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT statement FROM pg_prepared_statements")
                prepared = [row[0] for row in cursor.fetchall()]
            for marker in ("WITH picked AS", "knox_authtoken", "auth_permission", "contacts_suppression"):
                assert any(marker in statement for statement in prepared), marker
    finally:
        config_module.forget()


def _walk(resolver):
    for pattern in resolver.url_patterns:
        yield pattern
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_workers_boot_and_answer_with_the_database_and_the_cache_down(tmp_path):
    with socket.socket() as s:  # a port nothing listens on: the database is "down"
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_port}/nothing",
        "CACHE_URL": f"redis://127.0.0.1:{dead_port}/0",
        "CELERY_BROKER_URL": "",
        "WEB_CONCURRENCY": "2",
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.py",
                "-b",
                f"127.0.0.1:{port}",
                "config.wsgi",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5)  # noqa: S310
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.3)
        assert status == 503, log.read_text()
        # One worker answered; the other may still be trying its database.
        while time.monotonic() < deadline and log.read_text().count("warm_cache skipped") < 2:
            time.sleep(0.2)
        text = log.read_text()
        assert text.count("warm_connection skipped") == 2, text
        assert text.count("warm_cache skipped") == 2, text
        assert "Booting worker" in text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_worker_freezes_what_it_loaded_and_collects_the_young_generation_less_often(monkeypatch):
    import gc
    from types import SimpleNamespace

    from config import gunicorn, warmup

    ran = []
    for step in ("warm_imports", "warm_connection", "warm_cache"):
        monkeypatch.setattr(warmup, step, lambda step=step: ran.append(step))
    before = gc.get_threshold()
    try:
        gunicorn.post_worker_init(SimpleNamespace(pid=1))
        assert ran == ["warm_imports", "warm_connection", "warm_cache"]
        assert gc.get_threshold() == (10_000, 10, 10)
        assert gc.get_freeze_count() > 1000  # the imported application, out of every collection
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
