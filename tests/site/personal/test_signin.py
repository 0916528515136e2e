"""'Signed in as' from a signed cookie: no session or user query on pages that show only the bar."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connections
from django.test.utils import CaptureQueriesContext

from .conftest import account, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])

PAGES = ["/", "/events/conf/", "/accounts/login/"]


def queries(alias: str, client, url: str) -> list[str]:
    caches["default"].clear()  # the home page caches its "biggest upcoming" list: measure every request cold
    with CaptureQueriesContext(connections[alias]) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries]


def test_the_bar_costs_no_query(client, alias):
    make_event("conf", 3)
    for url in PAGES:  # the cached fragments filled: both counts are of pages seen before
        client.get(url)
    anonymous = {url: queries(alias, client, url) for url in PAGES}
    sign_in(client, make_person("ada", name="Ada Lovelace"))
    for url in PAGES:  # a visitor's event page is one fragment, a member's several: filled too
        client.get(url)
    for url in PAGES:
        signed_in = queries(alias, client, url)
        assert not [q for q in signed_in if "django_session" in q or "auth_user" in q], url
        # The bar adds nothing; people-first on the event page is Redis, not SQL; the event's
        # buttons showing your part in it (personal.selectors.event_part) are one query, and
        # its coverage block is read live for a signed-in viewer (their links, the paste
        # form): one query, the ids (no coverage here), where visitors get it cached.
        extra = 2 if url.startswith("/events/conf/") else 0
        assert len(signed_in) == len(anonymous[url]) + extra, (url, signed_in)
    page = client.get("/").content.decode()
    assert "Signed in as" in page and 'href="/people/ada/">Ada Lovelace</a>' in page and "Sign out" in page


def test_logout_clears_the_cookie_and_tampering_signs_out(client, alias):
    sign_in(client, make_person("ada"))
    cookie = client.cookies["lanyard_signed_in"].value
    client.cookies["lanyard_signed_in"] = cookie.replace("ada", "bob")  # edited: the signature no longer matches
    assert "Signed in as" not in client.get("/").content.decode()
    client.cookies["lanyard_signed_in"] = cookie
    assert "Signed in as" in client.get("/").content.decode()
    response = client.post("/accounts/logout/")
    assert response.cookies["lanyard_signed_in"].value == ""
    assert "Signed in as" not in client.get("/").content.decode()


def test_a_session_from_before_the_cookie_sets_it_once(client, alias):
    ada = make_person("ada")
    account(ada)
    client.force_login(ada.user)  # a session without the cookie (as after a deploy)
    response = client.get("/calendar/")
    assert response.status_code == 200 and response.cookies["lanyard_signed_in"].value
