"""Tasks of this capability (see the package docstring)."""
