"""Issue 2: people and dialler credentials, the permission mechanism, floor scoping, audit."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from campaigns.models import DiallerIntegration
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.diallers import issue_dialler_credential, revoke_dialler_credential
from contacts.models import AuditEntry
from contacts.services.audit import audit
from tests.campaigns.leasing import token_client
from tests.factories import AgentFactory, FloorFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_issued_dialler_token_is_hashed_at_rest_and_authenticates():
    floor = FloorFactory(code="lyon")
    integration, token = issue_dialler_credential(name="lyon-dialler", floors=[floor], actor=None, now=NOW)
    assert token.startswith("dlr_")
    stored = AuthToken.objects.get(user=integration.user)
    assert token not in (stored.digest, stored.token_key)
    assert stored.digest != token and len(stored.digest) == 128  # SHA-512 hex

    response = token_client(token).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "username": "dialler:lyon-dialler",
        "roles": ["dialler"],
        "floors": [floor.id],
        "is_dialler": True,
    }
    integration.refresh_from_db()
    assert integration.last_used_at is not None


def test_wrong_token_gets_401():
    FloorFactory(code="lyon")
    response = token_client("dlr_" + "0" * 64).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_revoked_credential_gets_401_and_is_audited():
    integration, token = issue_dialler_credential(name="dkr", floors=[FloorFactory()], actor=None, now=NOW)
    assert token_client(token).get("/api/v1/me/").status_code == 200
    revoke_dialler_credential(integration=integration, actor=None, now=NOW)
    assert token_client(token).get("/api/v1/me/").status_code == 401
    integration.refresh_from_db()
    assert integration.revoked_at == NOW
    assert list(
        AuditEntry.objects.filter(target_id=str(integration.pk)).values_list("action", flat=True)
    ) == [
        "campaigns.dialler.revoked",
        "campaigns.dialler.issued",
    ]


def test_command_prints_token_once_and_it_authenticates(capsys):
    FloorFactory(code="dakar")
    call_command("issue_dialler_credential", "dakar-1", "--floor", "dakar")
    token = capsys.readouterr().out.strip()
    assert token.startswith("dlr_")
    assert token_client(token).get("/api/v1/me/").json()["username"] == "dialler:dakar-1"


def test_command_rejects_unknown_floor():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown floor code\\(s\\): nowhere"):
        call_command("issue_dialler_credential", "x", "--floor", "nowhere")
    assert DiallerIntegration.objects.count() == 0


def test_manager_issues_credential_over_api_token_shown_once(manager_client):
    FloorFactory(code="tunis")
    response = manager_client.post(
        "/api/v1/diallers/", {"name": "tunis-1", "floors": ["tunis"]}, format="json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert token_client(token).get("/api/v1/me/").status_code == 200
    detail = manager_client.get(f"/api/v1/diallers/{response.json()['id']}/")
    assert "token" not in detail.json()
    assert AuditEntry.objects.filter(action="campaigns.dialler.issued", actor_label="manager").count() == 1


@pytest.mark.parametrize("role", ["agent", "floor_supervisor", "quality_evaluator", "dialler"])
def test_role_without_permission_gets_403_and_nothing_changes(role):
    FloorFactory(code="tunis")
    user = UserFactory(username=f"u-{role}", roles=[role])
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/diallers/", {"name": "sneaky", "floors": ["tunis"]}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert DiallerIntegration.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_revoke_needs_change_permission_and_leaves_credential_alone():
    integration, token = issue_dialler_credential(name="keep", floors=[FloorFactory()], actor=None, now=NOW)
    agent = UserFactory(username="an-agent", roles=["agent"])
    client = APIClient()
    client.force_authenticate(agent)
    assert client.post(f"/api/v1/diallers/{integration.pk}/revoke/").status_code == 403
    integration.refresh_from_db()
    assert integration.revoked_at is None
    assert token_client(token).get("/api/v1/me/").status_code == 200


def test_anonymous_gets_401_or_403():
    response = APIClient().get("/api/v1/diallers/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_floor_scoping_per_caller():
    lyon, dakar = FloorFactory(code="lyon"), FloorFactory(code="dakar")
    agent = AgentFactory(floor=dakar)
    assert floor_ids_for(agent.user) == frozenset({dakar.id})
    assert floor_ids_for(UserFactory(username="m", roles=["campaign_manager"])) is None
    assert floor_ids_for(UserFactory(username="nobody")) == frozenset()
    integration, _ = issue_dialler_credential(name="lyon-d", floors=[lyon], actor=None, now=NOW)
    assert floor_ids_for(integration.user) == frozenset({lyon.id})
    revoke_dialler_credential(integration=integration, actor=None, now=NOW)
    integration.user.refresh_from_db()
    assert floor_ids_for(integration.user) == frozenset()


def test_audit_entry_records_actor_action_target_details():
    user = UserFactory(username="alice")
    floor = FloorFactory(code="lisbon")
    at = timezone.now()
    entry = audit(user, "campaigns.floor.closed", floor, {"reason": "strike"}, at=at)
    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_label, entry.action) == (user.id, "alice", "campaigns.floor.closed")
    assert (entry.target_type, entry.target_id, entry.details) == (
        "campaigns.floor",
        str(floor.pk),
        {"reason": "strike"},
    )
    assert audit(None, "contacts.prospects.purged").actor_label == "system"


def test_audit_entries_readable_by_manager_only(manager_client):
    audit(None, "contacts.prospects.purged", details={"count": 3})
    response = manager_client.get("/api/v1/audit/?action=contacts.prospects.purged")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    agent_client = APIClient()
    agent_client.force_authenticate(UserFactory(username="ag", roles=["agent"]))
    assert agent_client.get("/api/v1/audit/").status_code == 403


def test_login_returns_a_token_for_people():
    UserFactory(username="bob", roles=["campaign_manager"])
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"bob:pw-for-tests-1").decode()
    )
    response = client.post("/api/v1/auth/login/")
    assert response.status_code == 200
    token = response.json()["token"]
    me = token_client(token).get("/api/v1/me/").json()
    assert me["username"] == "bob" and me["roles"] == ["campaign_manager"] and me["floors"] == "all"


def test_dialler_throttle_is_per_integration(monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    # DRF reads rates into a class attribute at import; patch that attribute, and monkeypatch puts
    # the original back so later tests are not throttled.
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"person": "1000/min", "dialler": "2/min", "anon": "10/min"}
    )
    _, token = issue_dialler_credential(name="busy", floors=[FloorFactory()], actor=None, now=NOW)
    _, other = issue_dialler_credential(name="calm", floors=[FloorFactory()], actor=None, now=NOW)
    client = token_client(token)
    codes = [client.get("/api/v1/me/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert "detail" in client.get("/api/v1/me/").json()
    # Another integration has its own budget.
    assert token_client(other).get("/api/v1/me/").status_code == 200
    cache.clear()
