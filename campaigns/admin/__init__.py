from . import campaigns, floors, leads, people  # noqa: F401  (one module per concept; importing registers them)
