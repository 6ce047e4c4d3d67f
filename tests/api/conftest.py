import pytest
import time_machine


@pytest.fixture
def lease_clock(db):
    """The leasing scene (tests/campaigns/leasing.py): its country policies in place and time stopped
    at its NOW. Time stands still, so throttle history from other tests (and rates another test may
    have left lowered on the throttle class) must not carry over."""
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    from tests.campaigns.leasing import NOW, policies

    policies()
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()
