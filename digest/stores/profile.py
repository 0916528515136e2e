"""Per-request and per-task profiles: a timeline of SQL, Redis, search, HTTP, templates, cache.

A :class:`Recorder` is made current for one request or task (a context variable, so
threads and tasks never mix); instrumented code calls :func:`record` or :func:`span`,
which cost one context-variable read when nothing is being recorded. The finished
profile is stored as JSON in Redis for five minutes under a random UUID.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar, cast

import redis as redis_lib
from redis.client import Pipeline
from sqlalchemy import Engine, event

from digest.stores.keys import RedisKeys

PROFILE_SECONDS = 300
MAX_EVENTS = 2_000  # a runaway loop of queries must not make a profile of megabytes
MAX_LABEL = 2_000


class Kind(StrEnum):
    SQL = "sql"
    REDIS = "redis"
    SEARCH = "search"
    HTTP = "http"
    TEMPLATE = "template"
    CACHE = "cache"


@dataclass
class Recorder:
    name: str  # "GET /events/pycon/" or "task lanyard.scheduler.process_chunk"
    kind: str = "request"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.perf_counter)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))
    events: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0

    def add(self, kind: Kind, label: str, *, start: float, end: float, **extra: Any) -> None:
        if len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        self.events.append(
            {
                "kind": kind.value,
                "label": label[:MAX_LABEL],
                "start_ms": round((start - self.started) * 1000, 3),
                "ms": round((end - start) * 1000, 3),
                **extra,
            }
        )

    def finish(self, **extra: Any) -> dict[str, Any]:
        total = (time.perf_counter() - self.started) * 1000
        summary: dict[str, dict[str, float]] = {}
        for item in self.events:
            entry = summary.setdefault(item["kind"], {"count": 0, "ms": 0.0})
            entry["count"] += 1
            entry["ms"] = round(entry["ms"] + item["ms"], 3)
        # Recorded as each ends; shown as a timeline, in the order they started.
        events = sorted(self.events, key=lambda item: item["start_ms"])
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "started_at": self.started_at,
            "total_ms": round(total, 3),
            "summary": summary,
            "events": events,
            "dropped": self.dropped,
            **extra,
        }


_current: ContextVar[Recorder | None] = ContextVar("lanyard_profile", default=None)


def current() -> Recorder | None:
    return _current.get()


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def record(kind: Kind, label: str, *, start: float, **extra: Any) -> None:
    """Add something that started at ``start`` (``time.perf_counter()``) and ends now."""
    recorder = _current.get()
    if recorder is not None:
        recorder.add(kind, label, start=start, end=time.perf_counter(), **extra)


@contextlib.contextmanager
def span(kind: Kind, label: str, **extra: Any) -> Iterator[None]:
    recorder = _current.get()
    if recorder is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        recorder.add(kind, label, start=start, end=time.perf_counter(), **extra)


def profile_save(redis: redis_lib.Redis, *, prefix: str, profile: dict[str, Any]) -> None:
    redis.set(RedisKeys(prefix).profile(profile["id"]), json.dumps(profile, default=str), ex=PROFILE_SECONDS)


def profile_load(redis: redis_lib.Redis, *, prefix: str, profile_id: str) -> dict[str, Any] | None:
    """A stored profile; None for an unknown, expired or malformed id."""
    try:
        uuid.UUID(profile_id)
    except ValueError:
        return None
    raw = redis.get(RedisKeys(prefix).profile(profile_id))
    return json.loads(raw) if raw else None


# -- instrumentation of the stores ------------------------------------------------------------


def install_sqlalchemy_hooks() -> None:
    """Time every statement of every SQLAlchemy engine in this process (idempotent)."""
    if event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        return
    event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(Engine, "after_cursor_execute", _after_cursor_execute)


def _before_cursor_execute(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if _current.get() is not None:
        conn.info.setdefault("lanyard_profile_starts", []).append(time.perf_counter())


def _after_cursor_execute(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    recorder = _current.get()
    starts = conn.info.get("lanyard_profile_starts")
    if recorder is not None and starts:
        recorder.add(
            Kind.SQL, statement, start=starts.pop(), end=time.perf_counter(), via="sqlalchemy", many=bool(executemany)
        )


class ProfiledPipeline(Pipeline):
    def execute(self, raise_on_error: bool = True) -> list[Any]:
        recorder = _current.get()
        if recorder is None:
            return super().execute(raise_on_error)
        commands = [" ".join(str(part) for part in args[:2]) for args, _ in self.command_stack]
        start = time.perf_counter()
        try:
            return super().execute(raise_on_error)
        finally:
            label = f"pipeline of {len(commands)}: " + "; ".join(commands[:20]) + (" …" if len(commands) > 20 else "")
            recorder.add(Kind.REDIS, label, start=start, end=time.perf_counter())


class ProfiledRedis(redis_lib.Redis):
    """redis.Redis that adds each command (and each pipeline) to the current profile."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        recorder = _current.get()
        if recorder is None:
            return super().execute_command(*args, **options)
        start = time.perf_counter()
        try:
            return super().execute_command(*args, **options)
        finally:
            recorder.add(Kind.REDIS, " ".join(str(part) for part in args[:2]), start=start, end=time.perf_counter())

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> ProfiledPipeline:
        return ProfiledPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def profile_http(record: Any) -> None:
    """The outgoing HTTP client's observer (``digest.http.HttpClient(observer=...)``): one event per request."""
    recorder = _current.get()
    if recorder is None:
        return
    end = time.perf_counter()
    recorder.add(
        Kind.HTTP,
        f"{record.method} {record.url}",
        start=end - record.milliseconds / 1000,
        end=end,
        status=record.status,
        bytes=record.bytes,
        outcome=record.outcome,
    )


F = TypeVar("F", bound=Callable[..., Any])


def profiled(kind: Kind, label: str) -> Callable[[F], F]:
    """Decorator: each call joins the current profile as ``label`` (plus its first argument's gist)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            recorder = _current.get()
            if recorder is None:
                return function(self, *args, **kwargs)
            start = time.perf_counter()
            try:
                return function(self, *args, **kwargs)
            finally:
                recorder.add(
                    kind, f"{label} {_gist(args[0]) if args else ''}".strip(), start=start, end=time.perf_counter()
                )

        return cast(F, wrapper)

    return decorate


def _gist(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"({len(value)} ids)"
    text = getattr(value, "text", None)  # a TextQuery
    return repr(text) if text is not None else repr(value)[:200]
