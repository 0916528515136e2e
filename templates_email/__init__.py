"""Jinja2 templates of the digest email and their CSS (package data, read with importlib.resources)."""
