from . import campaigns, floors, leads, people, recordings, rules  # noqa: F401  (one module per concept; importing registers them)
