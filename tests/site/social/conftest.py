"""Fixtures of the sign-in and connect tests: the site's settings pointed at stand-ins on
127.0.0.2 (the one address the guarded client may reach here)."""

from __future__ import annotations

import copy
import ipaddress

import pytest
from django.conf import settings
from django.test import override_settings

from tests.changed_settings import changed
from tests.site.personal.conftest import alias  # noqa: F401 -- the fixture, taken as a parameter
from tests.standins.mastodon import MastodonStandIn


@pytest.fixture
def lanyard_settings(alias):
    lanyard = changed(settings.LANYARD, site={"base_url": "http://testserver"},
                      http={"allow_networks": (ipaddress.ip_network("127.0.0.2/32"),), "deadline": 5.0},
                      # no broker: the import is queued by the tests' workers only
                      redis={"broker_url": "redis://127.0.0.1:9/0"})
    with override_settings(LANYARD=lanyard, CACHES=copy.deepcopy(settings.CACHES)):
        yield lanyard


@pytest.fixture
def mastodon():
    with MastodonStandIn() as server:
        yield server


@pytest.fixture
def link_taken_meanwhile():
    """link_taken_meanwhile(person, provider, external_id): the moment a sign-in makes its new
    person, that account is linked to ``person`` (someone else's link committing between the
    sign-in's check and its own link)."""
    from django.db.models.signals import post_save

    from lanyard_site.accounts.models import Account
    from lanyard_site.events.models import Person

    taken = {}

    def link(sender, instance, created, **kwargs):
        if created and instance.user_id is not None and taken:
            Account.objects.create(person=taken.pop("person"), handle="taken", added_by="organiser", **taken.pop("key"))

    def arrange(person, provider: str, external_id: str) -> None:
        taken.update(person=person, key={"provider": provider, "external_id": external_id})

    post_save.connect(link, sender=Person, dispatch_uid="link_taken_meanwhile")
    yield arrange
    post_save.disconnect(sender=Person, dispatch_uid="link_taken_meanwhile")
