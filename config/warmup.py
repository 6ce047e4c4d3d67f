"""What a server process does before its first request, so that request is not the slow one.

Used by `config/gunicorn.py`: `warm_imports` in the master before the workers fork (shared by all of
them), `warm_connection` in each worker before it accepts requests.
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
    policies, notices, floors) into its per-process cache, and compile the token lookup every
    request makes. Read-only: the statements that write are prepared at their first run."""
    from api.authentication import warm_token_lookup
    from campaigns.selectors.lease_config import lease_config

    connection.ensure_connection()
    lease_config()
    warm_token_lookup()
