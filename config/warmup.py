"""What a server process does before its first request, so that request is not the slow one.

Used by `config/gunicorn.py`, in each worker before it accepts requests: `warm_imports`, then
`warm_connection`.
"""

from django.db import connection


def warm_imports() -> None:
    """Import every view (the URLconf is otherwise imported by the first request) and write the
    SQL the lease path writes once per process. Opens no database connection."""
    from django.urls import get_resolver

    from api.permissions import permissions_sql
    from campaigns.services.leases import candidate_query

    get_resolver().url_patterns  # noqa: B018 (the property imports every urls and views module)
    permissions_sql()
    if connection.vendor == "postgresql":
        candidate_query()


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
