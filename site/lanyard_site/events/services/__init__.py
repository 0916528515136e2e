"""Writes of the events app from the site, one module per thing written."""
