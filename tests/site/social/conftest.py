"""Fixtures of the sign-in and connect tests: the site's settings pointed at stand-ins on
127.0.0.2 (the one address the guarded client may reach here)."""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import replace

import pytest
from django.conf import settings
from django.test import override_settings

from tests.site.personal.conftest import alias  # noqa: F401 -- the fixture, taken as a parameter
from tests.standins.mastodon import MastodonStandIn


@pytest.fixture
def lanyard_settings(alias):
    changed = replace(settings.LANYARD, base_url="http://testserver",
                      http_allow_networks=(ipaddress.ip_network("127.0.0.2/32"),), http_deadline=5.0,
                      broker_url="redis://127.0.0.1:9/0")  # no broker: the import is queued by the tests' workers only
    with override_settings(LANYARD=changed, CACHES=copy.deepcopy(settings.CACHES)):
        yield changed


@pytest.fixture
def mastodon():
    with MastodonStandIn() as server:
        yield server
