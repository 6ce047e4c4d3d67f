from . import campaigns, floors, leads, people, recordings  # noqa: F401  (one module per concept; importing registers them)
