"""Issue 2: settings, health, Celery through a real broker, schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections
from django.test import override_settings

from config.celery import app as celery_app
from config.celery import ping
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent
GOOD_SECRET = "k" * 20 + "-a-random-production-secret-key-0123456789"


def _run_production(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "SUPPRESSION_HASH_PEPPER", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env_overrides})
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROD_OK = {
    "SECRET_KEY": GOOD_SECRET,
    "ALLOWED_HOSTS": "campaigns.example.com",
    "SUPPRESSION_HASH_PEPPER": "pepper-for-the-test",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS"),
        ("SUPPRESSION_HASH_PEPPER", "SUPPRESSION_HASH_PEPPER"),
    ],
)
def test_production_settings_refuse_to_start_without(missing, message):
    env = {k: v for k, v in PROD_OK.items() if k != missing}
    result = _run_production(env, "check")
    assert result.returncode != 0
    assert message in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_settings_refuse_a_short_secret_and_sqlite():
    short = _run_production({**PROD_OK, "SECRET_KEY": "too-short"}, "check")
    assert short.returncode != 0 and "at least 50 characters" in short.stderr
    sqlite = _run_production({**PROD_OK, "DATABASE_URL": "sqlite:///var/prod.sqlite3"}, "check")
    assert sqlite.returncode != 0 and "DATABASE_URL=postgres" in sqlite.stderr


def test_production_check_deploy_is_clean():
    result = _run_production(PROD_OK, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.django_db
def test_health_ok(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_health_503_when_database_unreachable(client, monkeypatch):
    conn = connections["default"]

    def broken_cursor(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setattr(conn, "cursor", broken_cursor)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "error: OperationalError", "broker": response.json()["checks"]["broker"]},
    }


@pytest.mark.django_db
def test_health_503_when_broker_unreachable(client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error:")


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_django_s_own_400_is_json_under_the_api(client):
    # DisallowedHost is one of Django's SuspiciousOperations, answered by handler400.
    response = client.get("/api/v1/", HTTP_HOST="evil.example")
    assert (response.status_code, response.json()) == (400, {"detail": "Bad request."})
    assert client.get("/admin/", HTTP_HOST="evil.example")["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/campaigns/lead/?state=%00",
        "/admin/autocomplete/?app_label=campaigns&model_name=lead&field_name=floor&term=%00",
        "/admin/knox/authtoken/%00/change/",
        "/api/v1/prospects/?country=%00",
    ],
)
def test_a_nul_byte_in_the_path_or_query_is_a_400(client, url):
    # Each was a 500 on PostgreSQL (its text cannot hold NUL), found by fuzzing the admin.
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert response.json() == {"detail": "Bad request."}


def test_a_suspicious_operation_in_an_api_view_is_a_json_400():
    from django.core.exceptions import SuspiciousFileOperation

    from api.errors import exception_handler

    exc = SuspiciousFileOperation('Storage can not find an available filename for "/srv/media/a.ccc".')
    response = exception_handler(exc, {"view": None})
    assert (response.status_code, response.data) == (
        400,
        {"detail": "The request was refused: a value of it (such as a file name) is not acceptable."},
    )


@pytest.mark.django_db
def test_schema_is_openapi_3(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/diallers/" in schema["paths"]
    assert client.get("/api/docs/").status_code == 200


def test_beat_schedule_names_registered_tasks():
    celery_app.loader.import_default_modules()
    for name, entry in celery_app.conf.beat_schedule.items():
        assert entry["task"] in celery_app.tasks, f"beat entry {name} names unknown task {entry['task']}"


def test_task_runs_in_process_without_broker():
    result = ping.delay()
    assert result.get(timeout=5)["pid"] == os.getpid()


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_task_runs_in_a_real_worker_through_the_broker(celery_worker_process):
    """Fails if the task ran in this process: the worker's pid must answer."""
    assert celery_app.conf.task_always_eager is False
    result = ping.delay().get(timeout=30)
    assert result["pid"] == celery_worker_process["pid"]
    assert result["pid"] != os.getpid()
