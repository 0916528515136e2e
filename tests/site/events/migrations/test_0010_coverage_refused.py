"""Migration events 0010: coverage rows written before it, their raw reasons sorted into
LinkFailure codes and their refused links hidden (run on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.test import override_settings
from django.utils import timezone

from digest.coverage.failures import UNKNOWN, failure_words
from lanyard_site.events.models import Coverage, Event
from tests.site.pages import OneDatabase

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])
migration = importlib.import_module("lanyard_site.events.migrations.0010_coverage_refused")

BEFORE = {  # the client's words as rows held them → (status, failure) after
    "address not allowed: 10.0.0.7 is a private address": ("refused", "private address"),
    "address not allowed: 10.0.0.7 is a private address (intranet.example resolves to it)": (
        "refused", "private address"),
    "port 8080 not allowed": ("refused", "port"),
    "scheme not allowed: gopher: (only http and https)": ("refused", "not a web address"),
    "HTTP 404": ("failed", "page missing"),
    "HTTP 403": ("failed", "forbidden"),
    "HTTP 503": ("failed", "site error"),
    "HTTP 418": ("failed", "http error"),
    "timed out": ("failed", "timed out"),
    "too large: more than 2,097,152 bytes": ("failed", "too large"),
    "TLS failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed": ("failed", "tls"),
    "connection failed: cannot resolve nowhere.invalid: [Errno -2] Name or service not known": (
        "failed", "not found"),
    "connection failed: [Errno 111] Connection refused": ("failed", "connection refused"),
    "connection failed: [Errno 104] Connection reset by peer": ("failed", "connection failed"),
    "something nobody wrote down": ("failed", "something nobody wrote down"),
}


@pytest.fixture(params=["default", "postgresql"])
def alias(request, redis_client):
    with override_settings(DATABASE_ROUTERS=[OneDatabase(request.param)]):
        yield request.param


def test_old_raw_reasons_become_codes_and_refused_links_are_hidden(alias):
    day = timezone.localdate() + dt.timedelta(days=3)
    event = Event.objects.create(name="PyCon", slug="pycon", start_date=day, end_date=day)
    rows = {raw: Coverage.objects.create(event=event, url="https://x.example/", title="x", status="failed",
                                         failure=raw) for raw in BEFORE}
    fine = Coverage.objects.create(event=event, url="https://ok.example/", title="ok", status="ok")
    migration.sort_failures(apps, None)
    for raw, expected in BEFORE.items():
        rows[raw].refresh_from_db()
        assert (rows[raw].status, rows[raw].failure) == expected, raw
        assert "Errno" not in failure_words(rows[raw].failure)
    assert failure_words("something nobody wrote down") == UNKNOWN
    fine.refresh_from_db()
    assert (fine.status, fine.failure) == ("ok", "")
