"""The test suite. The database and broker still come from the environment, so the same suite runs
on SQLite (default) and on PostgreSQL with a real broker (`make test` does both)."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never outside tests
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = VAR_DIR / "test-media"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # Throttling has its own tests that set rates explicitly; the rest of the suite must not trip it.
    "DEFAULT_THROTTLE_RATES": {"person": "100000/min", "dialler": "100000/min", "anon": "100000/min"},
}
# Exact counts in every empty answer: tests change leads between two requests at one instant
# (the reuse itself is tested in tests/campaigns/test_leases.py).
EMPTY_QUEUE_REUSE_SECONDS = 0
