"""The "Your people" page and its buttons: Bluesky connect against the AppView stand-in, "Refresh
now" and connecting send the import through a real Redis broker (the queued message read back),
the page's importing/imported/failed states, and the buttons refused for what is not yours."""

from __future__ import annotations

import html
import json
import re
import secrets

import pytest
import redis as redis_lib
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName
from lanyard_site.accounts.models import Account, AccountFollowing
from lanyard_site.events.models import Follow
from scheduler.app import FETCHING_QUEUE
from tests.changed_settings import changed
from tests.conftest import REDIS_URL
from tests.site.personal.conftest import make_person, sign_in
from tests.standins.bluesky import BlueskyStandIn

pytestmark = pytest.mark.django_db(databases=["default", "postgresql"], transaction=True)
BROKER_URL = REDIS_URL.rsplit("/", 1)[0] + "/14"  # the scheduler tests' broker database, under our own prefix


def text(page) -> str:
    return html.unescape(page.content.decode())


def words(page) -> str:
    """The page's words as a reader sees them: no tags, single spaces."""
    return re.sub(r" ([.,;:])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", text(page)).split()))


@pytest.fixture
def bluesky():
    with BlueskyStandIn() as server:
        yield server


@pytest.fixture
def broker(lanyard_settings, bluesky):
    """The site's settings with a real broker (Redis, a prefix of this test's) and the AppView
    stand-in; ``broker()`` lists the imports queued, as (task, account id)."""
    lanyard = changed(lanyard_settings, redis={"broker_url": BROKER_URL, "prefix": f"soc{secrets.token_hex(4)}:"},
                      accounts={"bluesky_appview_url": bluesky.base_url})
    client = redis_lib.Redis.from_url(BROKER_URL)
    prefix = RedisKeys(lanyard.redis.prefix).broker_prefix
    with override_settings(LANYARD=lanyard):
        def queued() -> list[tuple[str, int]]:
            messages = [json.loads(m) for m in client.lrange(f"{prefix}{FETCHING_QUEUE}", 0, -1)]
            return [(m["headers"]["task"], json.loads(_body(m))[1]["account_id"]) for m in reversed(messages)]

        yield queued
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _body(message: dict) -> str:
    import base64

    return base64.b64decode(message["body"]).decode()


def importing(account_id: int) -> bool:
    from lanyard_site import stores

    return bool(stores.redis().exists(RedisKeys(settings.LANYARD.redis.prefix).follows_importing(account_id)))


def test_a_bluesky_handle_connects_unverified_and_its_import_is_queued(client, broker, bluesky):
    ada = sign_in(client, make_person("ada"))
    profile = bluesky.add_profile("ada.example")
    page = client.post("/accounts/bluesky/", {"handle": " ada.example "}, follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/connected/"
    assert "Connected Bluesky ada.example, unverified" in text(page)
    account = Account.objects.get(person=ada)
    assert (account.provider, account.external_id, account.verified) == ("bluesky", profile.did, False)
    assert broker() == [(TaskName.FOLLOWS_IMPORT, account.pk)]
    assert importing(account.pk) and "Importing whom you follow…" in text(page)


@pytest.mark.parametrize("typed, says", [
    ("nobody.example", "The Bluesky handle nobody.example resolves to nothing; nothing was changed."),
    ("not a handle!", "Not a Bluesky handle or DID: 'not a handle!' (e.g. alice.bsky.social); nothing was changed."),
])
def test_a_bluesky_handle_that_names_nobody_is_one_line_and_nothing_changes(client, broker, typed, says):
    sign_in(client, make_person("ada"))
    page = client.post("/accounts/bluesky/", {"handle": typed}, follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/connected/"
    assert f'<p class="notice">{says}</p>' in text(page), text(page)
    assert not Account.objects.exists() and broker() == []


def test_the_buttons_ask_a_visitor_to_sign_in_first(client, broker):
    for path, form in (("/accounts/bluesky/", {"handle": "ada.example"}), ("/accounts/connected/1/refresh/", {}),
                       ("/accounts/connected/1/disconnect/", {})):
        page = client.post(path, form, follow=True)
        assert page.redirect_chain[-1][0].startswith("/accounts/login/"), path
        assert "Please sign in first; nothing was changed." in text(page)
    assert broker() == []


def test_refresh_now_queues_the_import_again_and_only_for_your_own_account(client, broker):
    ada = sign_in(client, make_person("ada"))
    mine = Account.objects.create(person=ada, provider="github", external_id="11", handle="ada",
                                  fetched_at=timezone.now())
    theirs = Account.objects.create(person=make_person("bob"), provider="github", external_id="12", handle="bob")
    page = client.post(f"/accounts/connected/{mine.pk}/refresh/", follow=True)
    assert "Importing whom ada follows again." in text(page)
    assert broker() == [(TaskName.FOLLOWS_IMPORT, mine.pk)] and importing(mine.pk)
    assert '<meta http-equiv="refresh" content="2">' in page.content.decode()  # the page looks again
    page = client.post(f"/accounts/connected/{theirs.pk}/refresh/", follow=True)
    assert "That account is not connected to your profile; nothing was changed." in text(page)
    page = client.post(f"/accounts/connected/{theirs.pk}/disconnect/", follow=True)
    assert "That account is not connected to your profile; nothing was changed." in text(page)
    assert broker() == [(TaskName.FOLLOWS_IMPORT, mine.pk)] and Account.objects.filter(pk=theirs.pk).exists()


def test_the_page_shows_the_import_under_way_then_what_came_or_why_not(client, broker, redis_client):
    ada = sign_in(client, make_person("ada"))
    account = Account.objects.create(person=ada, provider="github", external_id="11", handle="ada")
    mark = RedisKeys(settings.LANYARD.redis.prefix).follows_importing(account.pk)
    redis_client.set(mark, str(timezone.now().timestamp()))
    page = text(client.get("/accounts/connected/"))
    assert "Importing whom you follow…" in page and "Importing…" in page and 'http-equiv="refresh"' in page

    redis_client.delete(mark)  # the worker is done: 3 ids, one of them bob's account
    bob = make_person("bob")
    Account.objects.create(person=bob, provider="github", external_id="12", handle="bob")
    for external_id in ("12", "13", "14"):
        AccountFollowing.objects.create(account=account, provider="github", external_id=external_id)
    Follow.objects.create(follower=ada, followee=bob, source="github")
    Account.objects.filter(pk=account.pk).update(fetched_at=timezone.now(), following_count=3)
    page = text(client.get("/accounts/connected/"))
    assert "Importing" not in page and 'http-equiv="refresh"' not in page
    page = words(client.get("/accounts/connected/"))
    assert "Follows 3 accounts: 1 on lanyard, 2 not (yet); 1 follow from this account." in page

    Account.objects.filter(pk=account.pk).update(fetch_error="api.github.com (page 2) answered 502",
                                                 fetch_error_at=timezone.now())
    page = words(client.get("/accounts/connected/"))
    assert "The last import failed: api.github.com (page 2) answered 502" in page
    assert "The list imported 0 minutes ago is kept." in page


def test_the_page_without_redis_shows_the_last_import(client, broker, lanyard_settings):
    ada = sign_in(client, make_person("ada"))
    Account.objects.create(person=ada, provider="github", external_id="11", handle="ada")
    with override_settings(LANYARD=changed(settings.LANYARD, redis={"url": "redis://127.0.0.1:9/0"})):
        page = client.get("/accounts/connected/")
    assert page.status_code == 200 and "Not imported yet" in text(page)
