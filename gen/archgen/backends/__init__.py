"""Backends: render a lowered Graph into a project folder.  ``get_backend(name)``."""
