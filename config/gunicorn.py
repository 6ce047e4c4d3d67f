"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi:application` (README, lease bench).

Bind address, workers and threads stay on the command line; this file holds what the code itself
relies on.
"""

import gc
import os

# A dialler request allocates tens of thousands of short-lived objects (rows, decisions, JSON) and
# almost no reference cycles; with Python's default young-generation threshold (700 allocations) the
# collector runs dozens of times per request walking objects that are about to be freed anyway.
# 0 keeps Python's default.
GC_GEN0_THRESHOLD = int(os.environ.get("GUNICORN_GC_GEN0_THRESHOLD", "50000"))


def post_worker_init(worker):
    """Once the worker has loaded Django: what is loaded is frozen out of every collection, then
    young collections run every GC_GEN0_THRESHOLD allocations."""
    if GC_GEN0_THRESHOLD > 0:
        gc.freeze()
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
