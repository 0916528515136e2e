"""Lazily built handles on lanyard's stores from one set of settings: what a command, a
bench or a script works with (the `lanyard` command's ``App`` adds Celery and Django)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from digest.config import Settings, load_settings

if TYPE_CHECKING:
    import redis
    from sqlalchemy import Engine

    from digest.graph.store import Graph


class Handles:
    """Settings (from the environment unless given), an engine, a Redis client and the graph,
    each built on first use."""

    def __init__(self, settings: Settings | None = None):
        self._given = settings

    @cached_property
    def settings(self) -> Settings:
        return self._given or load_settings()

    @cached_property
    def engine(self) -> Engine:
        # Imported on first use, so a command that needs no database starts without SQLAlchemy.
        from digest.stores.db import make_engine  # noqa: PLC0415 -- see above

        return make_engine(self.settings.database.primary)

    @cached_property
    def redis(self) -> redis.Redis:
        from digest.stores.redis_store import connect  # noqa: PLC0415 -- as the engine's

        return connect(self.settings)

    @cached_property
    def graph(self) -> Graph:
        from digest.graph.store import Graph  # noqa: PLC0415 -- as the engine's

        return Graph(self.redis, self.settings.redis.prefix)
