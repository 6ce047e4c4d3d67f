"""What a server process does before its first request, so that request is not the slow one.

Used by `config/gunicorn.py`, in each worker before it accepts requests: `warm_imports`, then
`warm_connection` and `warm_cache`.
"""

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.urls import URLResolver, get_resolver
from django.utils.module_loading import import_string


def warm_imports() -> None:
    """Import every view (the URLconf is otherwise imported by the first request), compile every
    URL pattern, import what the middleware imports at its first request (message and session
    storage), create the cache backend the throttles use, and write the SQL the lease path writes
    once per process. Opens no connection. Without the middleware, pattern and cache steps, a
    worker's first lease cost ~4 ms more Python than the next ones (measured through the WSGI
    handler, one worker)."""
    from api.permissions import permissions_sql
    from campaigns.services.leases import candidate_query

    _compile_patterns(get_resolver())  # the first access to url_patterns imports every view
    import_string(settings.MESSAGE_STORAGE)
    import_string(settings.SESSION_SERIALIZER)
    caches["default"]  # noqa: B018 (created at first access)
    permissions_sql()
    if connection.vendor == "postgresql":
        candidate_query()


def _compile_patterns(resolver: URLResolver) -> None:
    """Django compiles each pattern's regular expression at its first match."""
    for pattern in resolver.url_patterns:
        pattern.pattern.regex  # noqa: B018 (compiled at first access)
        if isinstance(pattern, URLResolver):
            _compile_patterns(pattern)


def warm_connection() -> None:
    """Open this process's database connection, read the lease configuration (campaigns,
    policies, notices, floors) into its per-process cache, and run once each statement a lease
    request makes before its INSERTs, with arguments that match nothing: the connection prepares
    them and the database server learns their tables and indexes. A new worker's first lease was
    ~12 ms slower than the next ones without this (measured with one worker, one client).
    Nothing is written."""
    from django.utils import timezone

    from api.authentication import warm_token_lookup
    from api.permissions import warm_permissions_statement
    from campaigns.selectors.lease_config import lease_config
    from campaigns.services.leases import warm_lease_statements
    from contacts.selectors.suppression import suppressed_hashes

    now = timezone.now()
    connection.ensure_connection()
    lease_config()
    warm_token_lookup()
    warm_permissions_statement()
    warm_lease_statements(now)
    suppressed_hashes(hashes=["0" * 64], advertiser_id=-1, at=now)


def warm_cache() -> None:
    """Open the throttles' cache connection (Redis in production) with one read."""
    caches["default"].get("warmup")
