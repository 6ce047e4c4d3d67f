"""Shared fixtures.

The suite runs twice in `make test`: on SQLite with in-process tasks, then on PostgreSQL with a real
Redis broker. Tests marked `broker` run against a real Celery worker process started here; every
other test runs tasks in-process so it stays fast and deterministic.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def _services_required() -> bool:
    return os.environ.get("TEST_REQUIRE_SERVICES", "") in ("1", "true")


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    has_broker = bool(settings.CELERY_BROKER_URL)
    if _services_required() and not (on_postgres and has_broker):
        raise pytest.UsageError("TEST_REQUIRE_SERVICES is set but PostgreSQL or the broker is not configured")
    unserialized = [item.nodeid for item in items if _flushes_without_restoring(item)]
    if unserialized:
        raise pytest.UsageError(
            "transactional tests must also set serialized_rollback=True: " + ", ".join(unserialized)
        )
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL (runs in the PostgreSQL pass of make test)")
            )
        if item.get_closest_marker("broker") and not (has_broker and on_postgres):
            item.add_marker(
                pytest.mark.skip(reason="needs a broker and PostgreSQL (PostgreSQL pass of make test)")
            )


def _flushes_without_restoring(item) -> bool:
    """A transactional test that would empty the tables without putting the migrations' rows back.

    Its flush re-runs post_migrate, which makes the role groups again under new ids; the next test
    with serialized rollback then inserts them under their first ids and fails on the unique name
    (seen on SQLite when the browser tests, which happened to run in between, were skipped)."""
    from pytest_django.plugin import validate_django_db

    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    # The marker as pytest-django reads it (positional or keyword; reset_sequences is transactional
    # too), or the fixtures that make a test transactional without it.
    transaction, reset_sequences, _, serialized_rollback, _ = (
        validate_django_db(marker) if marker is not None else (False, False, None, False, None)
    )
    transactional = (
        transaction
        or reset_sequences
        or bool(fixtures & {"transactional_db", "live_server", "django_db_reset_sequences"})
    )
    return transactional and not (serialized_rollback or "django_db_serialized_rollback" in fixtures)


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Run tasks in-process except in `broker` tests, which must reach a real worker."""
    real = request.node.get_closest_marker("broker") is not None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = not real
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the configured broker, using the test database.

    It listens on a queue of its own so that concurrent runs on one broker never steal each other's
    tasks.
    """
    if not settings.CELERY_BROKER_URL:
        pytest.skip("no broker configured")
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = f"tm-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log = open(BASE_DIR / "var" / f"celery-worker-{queue}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_default_queue = queue
    deadline = time.monotonic() + 60
    try:
        while True:
            replies = celery_app.control.ping(timeout=1.0) or []
            if any(name.startswith(f"{queue}@") for reply in replies for name in reply):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"celery worker did not start: see {log.name}")
            time.sleep(0.5)
        yield {"pid": proc.pid, "queue": queue}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def manager(db):
    from tests.factories import UserFactory

    return UserFactory(username="manager", roles=["campaign_manager"])


@pytest.fixture
def manager_client(manager):
    client = APIClient()
    client.force_authenticate(manager)
    return client
