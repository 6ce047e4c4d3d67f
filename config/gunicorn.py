"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Workers come up warm. Cold, a worker's first dialler lease took 2–3 times a warm one on the lease
bench (URLconf and views imported on the first request, the database connection opened, the lease
configuration read, the statements prepared), and with 8 diallers asking at once after a deploy or
a worker recycle those first answers were the slowest of the run (BENCHMARKS.md, issue 6).

Before it accepts a request, each worker:
- imports every view, compiles every URL pattern, imports what the middleware imports at its
  first request, and writes the SQL the lease path writes once per process;
- opens its own database connection, reads the lease configuration and runs once each read-only
  statement of a lease request with arguments that match nothing (`config.warmup`), then opens
  the throttles' cache connection. A database or cache that is down does not stop the worker: the
  first request gets the usual error and the next one retries;
- then `gc.freeze()`: what it loaded so far is never walked by the garbage collector again, and
  the young generation is collected every 10,000 net allocations instead of 700 (GC_THRESHOLD).

The application is not preloaded in the master on purpose. A forked worker shares the master's
memory until it writes to it, and Python writes to every object it touches (reference counts): the
first request of a preloaded worker paid a page copy for each, 26–30 ms against 20–22 ms for a
worker that imported the application itself (one worker, one client, steady state ~14 ms).

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
# A slow dialler or client cannot hold a sync worker for long; the proxy buffers bodies.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))

log = logging.getLogger("gunicorn.error")

# A dialler lease of 100 holds ~2,000 container objects (model instances, their dicts, the items)
# until its response is sent, when reference counting frees them. At the default 700 the collector
# ran 2.7 young and 0.24 middle collections per lease, walking objects about to be freed anyway; at
# 10,000, one young collection every ~10 leases. Measured in one process, alternating blocks of
# leases: 4–11 % less Python CPU per lease (BENCHMARKS.md, issue 6). Imports raise it further while
# they run (contacts.services.imports.GC_THRESHOLD) and then come back to this.
GC_THRESHOLD = (10_000, 10, 10)


def post_worker_init(worker) -> None:
    from config.warmup import warm_cache, warm_connection, warm_imports

    warm_imports()
    # A database or cache down at boot must not keep the worker from serving /health/.
    for step in (warm_connection, warm_cache):
        try:
            step()
        except Exception:
            log.warning("worker %s: %s skipped", worker.pid, step.__name__, exc_info=True)
    tune_collector()


def tune_collector() -> None:
    gc.collect()  # whatever the warm-up left in cycles (a logged traceback) is not frozen for life
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
