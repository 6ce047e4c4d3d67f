"""No request may produce a 500: schemathesis generates requests for every operation of the OpenAPI
schema (valid and invalid bodies, odd query strings) and sends them, authenticated as a superuser
(the role that reaches every code path), through the WSGI app in-process."""

import pytest
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis import openapi
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.factories import UserFactory

schema = openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def superuser_token(db):
    # Django's test client detaches close_old_connections during requests; calling the WSGI app
    # directly does not, and would close the test's connection (and its transaction) after each call.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    user = UserFactory(username="fuzz-root", is_staff=True, is_superuser=True)
    yield AuthToken.objects.create(user=user)[1]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_500(case, superuser_token):
    case.call_and_validate(headers={"Authorization": f"Token {superuser_token}"}, checks=[not_a_server_error])
