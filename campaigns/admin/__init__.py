from . import floors, people  # noqa: F401  (one module per concept; importing registers them)
