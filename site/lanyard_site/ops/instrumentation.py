"""What the profiler sees of Django: SQL, template rendering, cache gets and sets.

The digest core already times SQLAlchemy statements and Redis commands
(``digest/stores/profile.py``). Django has no hook for template rendering or cache calls
outside its test runner, so their methods are wrapped once at start-up; each wrapper
costs one context-variable read when nothing is being recorded.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.db.backends.signals import connection_created
from django.template.base import Template
from django.utils.module_loading import import_string

from digest.ops.readonly import guard_statement, install_sqlalchemy_guard
from digest.stores.profile import Kind, current, install_sqlalchemy_hooks

_MISSING = object()


def install() -> None:
    install_sqlalchemy_hooks()
    install_sqlalchemy_guard()
    connection_created.connect(_add_execute_wrapper, dispatch_uid="lanyard-ops-sql")
    _wrap_template_render()
    for alias in settings.CACHES:
        _wrap_cache_backend(import_string(str(settings.CACHES[alias]["BACKEND"])))


def ops_execute(execute, sql, params, many, context):
    """Django's execute wrapper: refuse writes while read-only, time statements when profiling."""
    guard_statement(sql)
    recorder = current()
    if recorder is None:
        return execute(sql, params, many, context)
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        recorder.add(
            Kind.SQL,
            sql,
            start=start,
            end=time.perf_counter(),
            via="django",
            database=context["connection"].alias,
            many=many,
        )


def _add_execute_wrapper(sender, connection, **kwargs) -> None:
    if ops_execute not in connection.execute_wrappers:
        connection.execute_wrappers.append(ops_execute)


def _wrap_template_render() -> None:
    if getattr(Template.render, "lanyard_wrapped", False):
        return
    original = Template.render

    def render(self, context):
        recorder = current()
        if recorder is None:
            return original(self, context)
        start = time.perf_counter()
        try:
            return original(self, context)
        finally:
            recorder.add(Kind.TEMPLATE, self.name or "(inline template)", start=start, end=time.perf_counter())

    # bench/ops.py measures the page without the wrappers too (__wrapped__)
    vars(render).update(lanyard_wrapped=True, __wrapped__=original)
    Template.render = render


def _wrap_cache_backend(backend: type[BaseCache]) -> None:
    if getattr(backend.get, "lanyard_wrapped", False):
        return
    original_get, original_set = backend.get, backend.set

    def get(self, key, default=None, version=None):
        recorder = current()
        if recorder is None:
            return original_get(self, key, default, version)
        start = time.perf_counter()
        value = original_get(self, key, _MISSING, version)
        hit = value is not _MISSING
        recorder.add(Kind.CACHE, f"get {key}", start=start, end=time.perf_counter(), hit=hit)
        return value if hit else default

    def set(self, key, value, timeout=_MISSING, version=None):
        # The backend's own default timeout unless one is given.
        timing = {} if timeout is _MISSING else {"timeout": timeout}
        recorder = current()
        if recorder is None:
            return original_set(self, key, value, version=version, **timing)
        start = time.perf_counter()
        try:
            return original_set(self, key, value, version=version, **timing)
        finally:
            recorder.add(Kind.CACHE, f"set {key}", start=start, end=time.perf_counter())

    vars(get).update(lanyard_wrapped=True, __wrapped__=original_get)
    vars(set).update(__wrapped__=original_set)
    backend.get, backend.set = get, set
