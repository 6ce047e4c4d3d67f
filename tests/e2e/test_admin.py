"""The admin in a real browser: login, audit trail read-only, floor scoping for a supervisor."""

import pytest

from contacts.services.audit import audit
from tests.factories import AgentFactory, FloorFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def login(page, live_server, username, password="pw-for-tests-1"):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_admin_login_and_audit_trail_is_read_only(page, live_server):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    audit(None, "contacts.prospects.purged", details={"count": 2})
    login(page, live_server, "root")
    assert page.locator("#site-name").inner_text() == "Telemarketing campaign manager"
    page.goto(f"{live_server.url}/admin/contacts/auditentry/")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "contacts.prospects.purged" in page.locator("#result_list").inner_text()
    # No "add" button: an audit trail that can be edited proves nothing.
    assert page.locator(".object-tools a.addlink").count() == 0
    assert page.locator("h1").inner_text() == "Select audit entry to view"


def test_wrong_password_is_refused(page, live_server):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    login(page, live_server, "root", password="wrong")
    assert "Please enter the correct username and password" in page.locator(".errornote").inner_text()


def test_supervisor_sees_only_own_floor_agents(page, live_server):
    from django.contrib.auth.models import Permission

    lyon, dakar = FloorFactory(code="lyon", name="Lyon"), FloorFactory(code="dakar", name="Dakar")
    AgentFactory(floor=lyon, code="AG-LYON")
    AgentFactory(floor=dakar, code="AG-DAKAR")
    supervisor = AgentFactory(
        floor=dakar,
        code="SV-DAKAR",
        is_supervisor=True,
        user=UserFactory(username="sup", is_staff=True, roles=["floor_supervisor"]),
    )
    supervisor.user.user_permissions.add(Permission.objects.get(codename="view_agent"))
    login(page, live_server, "sup")
    page.goto(f"{live_server.url}/admin/campaigns/agent/")
    text = page.locator("#result_list").inner_text()
    assert "AG-DAKAR" in text and "SV-DAKAR" in text
    assert "AG-LYON" not in text
