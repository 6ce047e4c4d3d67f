from . import audit, prospects  # noqa: F401  (one module per concept; importing registers them)
