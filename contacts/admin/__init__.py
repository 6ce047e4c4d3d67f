from . import audit, compliance, imports, prospects  # noqa: F401  (one module per concept; importing registers them)
