"""Celery tasks of this app, one module per capability. Tasks take primary keys, call one service
and are idempotent; each gives itself an explicit `name=`."""

from . import leases, lists, recordings  # noqa: F401
