"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Workers come up warm. Cold, a worker's first dialler lease took 2–3 times a warm one on the lease
bench (URLconf and views imported on the first request, the database connection opened, the lease
configuration read, the claim query written), and with 8 diallers asking at once after a deploy or
a worker recycle those first answers were the slowest of the run (BENCHMARKS.md, issue 6).

- The application is imported once in the master (`preload_app`), with its URLconf and the SQL
  the lease path writes once per process, then `gc.freeze()` moves everything imported so far out
  of the collector's sight: forked workers do not walk (or copy) those objects at every full
  collection.
- No database connection is opened before the fork (a socket shared by several processes would
  mix their queries); each worker opens its own and reads the lease configuration before it
  accepts a request. A database that is down then does not stop the worker: the first request
  gets the usual error and the next one retries.

Every setting can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import gc
import logging
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One single-threaded worker per core, plus one: measured best for dialler leases on the 2-core
# bench machine (README, "Running in production").
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
worker_class = "sync"
preload_app = True
# A slow dialler or client cannot hold a sync worker for long; the proxy buffers bodies.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))

log = logging.getLogger("gunicorn.error")


def when_ready(server) -> None:
    """Master, after the application is loaded and before any worker forks."""
    from config.warmup import warm_imports

    warm_imports()
    gc.freeze()


def post_fork(server, worker) -> None:
    # Nothing opened one before the fork, but a connection inherited from the master would be
    # shared with every sibling: drop any, without sending a goodbye on the shared socket.
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.connection = None  # pragma: no cover (defensive)


def post_worker_init(worker) -> None:
    from config.warmup import warm_connection

    try:
        warm_connection()
    except Exception:  # a database down at boot must not keep the worker from serving /health/
        log.warning("worker %s: warm-up skipped", worker.pid, exc_info=True)
