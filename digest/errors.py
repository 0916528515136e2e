"""The faults the layers above tell each other about, at the bottom so any layer can raise or
catch them without importing the layer that means them (``digest/faults.py`` sorts them)."""

from __future__ import annotations


class GraphMissing(RuntimeError):
    """No generation of the graph is live yet."""


class RedisUnavailable(RuntimeError):
    """Redis could not be reached or started; the message says what to check."""


class SearchMissing(RuntimeError):
    """The index holds no documents at all (deleted, a fresh core) although it should."""


class RunPaused(RuntimeError):
    """The run is paused; process the chunk again after it resumes."""
