from . import audit, imports, prospects  # noqa: F401  (one module per concept; importing registers them)
