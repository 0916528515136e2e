"""The signed-in person's endpoints with a personal API token and with a session, on SQLite
and PostgreSQL: calendar (the digest's strategy), follows (add, remove), subscriptions;
tokens made and revoked on the profile page; read-only mode, the ``api`` flag, rate limits."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from digest.ops.flags import flag_set
from digest.ops.ratelimit import RateLimit
from digest.ops.readonly import read_only_set
from lanyard_site import stores
from lanyard_site.api.models import ApiToken
from lanyard_site.events.models import Follow
from lanyard_site.mailing.models import Subscription
from tests.site.api.conftest import problem
from tests.site.personal.conftest import account, go, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def make_token(client: Client, who, name: str = "widget") -> str:
    """A token made on the profile page, as a person does it: shown once, in the page."""
    sign_in(client, who)
    page = client.post("/accounts/profile/tokens/", {"name": name})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    return re.search(r'<code class="token" id="new-token">(lanyard_[\w-]+)</code>', page.content.decode()).group(1)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_is_shown_once_and_stored_hashed(client, catalogue):
    token = make_token(client, catalogue["bob"])
    row = ApiToken.objects.get()
    assert row.digest == hashlib.sha256(token.encode()).hexdigest() and token not in str(vars(row))
    profile = client.get("/accounts/profile/").content.decode()
    assert token not in profile and row.prefix in profile and "widget" in profile


def test_my_follows_with_a_token_add_and_remove(api, client, catalogue):
    token = make_token(Client(), catalogue["bob"])
    me = api.get("/api/v1/me", **bearer(token)).json()
    assert me["handle"] == "bob"
    follows = api.get("/api/v1/me/follows", **bearer(token)).json()
    assert [(p["handle"], p["sources"]) for p in follows["items"]] == [("ada", ["manual"])]
    carol = make_person("carol")
    added = api.put("/api/v1/me/follows/carol", **bearer(token)).json()
    assert added == {**added, "following": True, "changed": True}
    assert api.put("/api/v1/me/follows/carol", **bearer(token)).json()["changed"] is False
    assert Follow.objects.filter(follower=catalogue["bob"], followee=carol).count() == 1
    problem(api.put("/api/v1/me/follows/bob", **bearer(token)), 422)  # yourself
    problem(api.put("/api/v1/me/follows/nobody", **bearer(token)), 404)
    removed = api.delete("/api/v1/me/follows/carol", **bearer(token)).json()
    assert removed["following"] is False and removed["changed"] is True
    assert not Follow.objects.filter(followee=carol).exists()


def test_my_calendar_is_the_calendar_page_as_json(api, client, catalogue):
    soon = make_event("soon", 2)
    go(catalogue["ada"], soon)
    token = make_token(Client(), catalogue["bob"])
    body = api.get("/api/v1/me/calendar", **bearer(token)).json()
    assert [entry["event"]["slug"] for entry in body["items"]] == ["soon", "pycon"]
    assert body["items"][1]["followed"][0] == {**body["items"][1]["followed"][0], "role": "speaking"}
    speaking = api.get("/api/v1/me/calendar", {"speaking": "1", "topic": "nope"}, **bearer(token)).json()
    assert [entry["event"]["slug"] for entry in speaking["items"]] == ["pycon"]
    assert speaking["ignored"] == ["There is no topic 'nope'; the topic filter is not applied."]
    sign_in(client, catalogue["bob"])
    page = client.get("/calendar/").content.decode()
    assert page.index("/events/soon/") < page.index("/events/pycon/")


def test_my_subscriptions(api, catalogue):
    Subscription.objects.create(person=catalogue["bob"], email="bob@example.com")
    token = make_token(Client(), catalogue["bob"])
    items = api.get("/api/v1/me/subscriptions", **bearer(token)).json()["items"]
    assert [(s["list"], s["email"], s["status"]) for s in items] == [("daily", "bob@example.com", "active")]


def test_a_session_reads_and_writes_with_its_csrf_token(catalogue):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(account(catalogue["bob"]))
    assert browser.get("/api/v1/me").json()["handle"] == "bob"
    refused = browser.put("/api/v1/me/follows/carol")
    problem(refused, 403)
    make_person("carol")
    browser.get("/accounts/profile/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    assert browser.put("/api/v1/me/follows/carol", HTTP_X_CSRFTOKEN=csrf).json()["changed"] is True


def test_without_credentials_or_with_a_revoked_token_a_401(api, client, catalogue):
    problem(api.get("/api/v1/me/calendar"), 401)
    token = make_token(client, catalogue["bob"])
    row = ApiToken.objects.get()
    assert client.post(f"/accounts/profile/tokens/{row.pk}/revoke/").status_code == 302
    refused = problem(api.get("/api/v1/me", **bearer(token)), 401)
    assert "revoked" in refused["detail"]
    assert 'invalid_token' in api.get("/api/v1/events", **bearer(token))["WWW-Authenticate"]
    problem(api.get("/api/v1/me", **bearer("lanyard_made-up")), 401)


def test_read_only_mode_refuses_writes_with_retry_after(api, catalogue):
    token = make_token(Client(), catalogue["bob"])
    make_person("carol")
    read_only_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, on=True, message="Upgrading.")
    try:
        refused = api.put("/api/v1/me/follows/carol", **bearer(token))
        assert problem(refused, 503)["detail"] == "Upgrading." and refused["Retry-After"] == "120"
        assert not Follow.objects.filter(followee__handle="carol").exists()
        assert api.get("/api/v1/me/follows", **bearer(token)).status_code == 200  # reads go on
    finally:
        read_only_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, on=False)


def test_the_api_flag_switches_the_api_off(api, catalogue):
    flag_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, name="api", condition="nobody")
    try:
        off = api.get("/api/v1/events")
        problem(off, 503)
        assert off["Retry-After"]
    finally:
        flag_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, name="api", condition="everyone")
    flag_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, name="search", condition="nobody")
    try:
        problem(api.get("/api/v1/search", {"q": "python"}), 503)
    finally:
        flag_set(stores.redis(), prefix=settings.LANYARD.redis.prefix, name="search", condition="everyone")


def test_rate_limits_per_address_and_per_token(api, catalogue):
    token = make_token(Client(), catalogue["bob"])
    with override_settings(LANYARD_API_RATE_PER_ADDRESS=RateLimit(requests=3, seconds=3600),
                           LANYARD_API_RATE_PER_TOKEN=RateLimit(requests=5, seconds=3600)):
        answers = [api.get("/api/v1/topics") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0]["RateLimit-Limit"] == "3" and answers[2]["RateLimit-Remaining"] == "0"
        limited = problem(answers[3], 429)
        assert 0 < int(answers[3]["Retry-After"]) <= 3600 and "Too many" in limited["detail"]
        # A token counts on its own, with its own limit.
        with_token = [api.get("/api/v1/topics", **bearer(token)).status_code for _ in range(6)]
        assert with_token == [200] * 5 + [429]
        other = Client(HTTP_ACCEPT="application/json", REMOTE_ADDR="10.0.0.9")
        assert other.get("/api/v1/topics").status_code == 200  # another address has its own count
