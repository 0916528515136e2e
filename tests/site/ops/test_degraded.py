"""Every page type, signed out and signed in, while a store is away: a Redis server of
the test's own stopped, the search engine (a Solr URL where nothing listens) away, the
graph not built. No page is a 500; the pages that lost something say so in a banner."""

from __future__ import annotations

import copy
import uuid
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connections
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from digest.demo.seed import SeedPlan, seed
from digest.graph.sync import rebuild
from digest.search.documents import stream_documents
from digest.tokens import FeedRef, TokenSigner
from lanyard_site import stores
from lanyard_site.events import search_signals
from lanyard_site.events.models import Event, Person, Session, Topic
from lanyard_site.mailing.models import Subscription
from lanyard_site.ops import health
from lanyard_site.ops.models import OpsChange
from lanyard_site.personal import selectors as personal_selectors
from tests.changed_settings import changed
from tests.faults.servers import RedisServer, free_port
from tests.site.pages import alias  # noqa: F401  (the fixture: SQLite and PostgreSQL)
from tests.site.personal.conftest import sign_in

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "postgresql"]), pytest.mark.slow]

BANNER = "Part of lanyard is unavailable right now"


def _forget_store_handles() -> None:
    for cached in (stores.redis, stores.graph, stores.search, health._search, search_signals._redis):
        cached.cache_clear()
    personal_selectors.friend_strategy_forget()


@contextmanager
def site_stores(**changes: dict):
    """The site on other stores: settings.LANYARD changed, every per-process handle made again
    (CACHES set anew makes Django build the fragment cache again, on the new Redis)."""
    _forget_store_handles()
    with override_settings(LANYARD=changed(settings.LANYARD, **changes), CACHES=copy.deepcopy(settings.CACHES)):
        _forget_store_handles()
        try:
            yield
        finally:
            _forget_store_handles()


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(alias, own_redis, tmp_path):
    """Seeded data, its graph on the test's own Redis and its search index, and one person
    with an account who follows someone and has a subscription."""
    with site_stores(redis={"url": own_redis.url(), "prefix": "degraded:"},
                     search={"url": f"tantivy://{tmp_path / 'search'}"}):
        engine = stores.engine(alias)
        seed(engine, SeedPlan(people=30, events=12, subscribers=10, seed=3, today=timezone.localdate()))
        rebuild(stores.graph(), engine)
        with engine.connect() as connection:
            stores.search().rebuild(stream_documents(connection))
        yield alias
    for name in connections:  # /readyz opened an engine on every alias, the replicas too
        stores.engine(name).dispose()


def page_urls(me: Person) -> list[str]:
    event = Event.objects.filter(attendances__isnull=False).order_by("pk").first()
    other = Person.objects.exclude(pk=me.pk).order_by("pk").first()
    token = TokenSigner(settings.LANYARD.secret_keys).sign_feed(FeedRef(me.pk, me.feed_version))
    return [
        "/", "/events/", "/events/?when=past", f"/events/{event.slug}/", f"/events/{event.slug}/attendees/",
        f"/events/{event.slug}/attendees/?q=a", f"/events/{event.slug}/speakers/", f"/events/{event.slug}/event.ics",
        f"/talks/{Session.objects.order_by('pk').first().pk}/", "/people/", "/people/?q=an", f"/people/{other.handle}/",
        "/topics/", f"/topics/{Topic.objects.order_by('pk').first().slug}/", "/coverage/", "/search/?q=python",
        "/calendar/", f"/calendar/{token}.ics", "/accounts/profile/", "/subscriptions/", "/accounts/login/",
        "/accounts/signup/", "/accounts/password-reset/", "/robots.txt", "/healthz", "/readyz",
        # the JSON API's reads
        "/api/v1/events", f"/api/v1/events/{event.slug}", "/api/v1/talks", "/api/v1/people", "/api/v1/people?q=an",
        f"/api/v1/people/{other.handle}", "/api/v1/topics", "/api/v1/coverage", "/api/v1/search?q=python",
    ]


def walk(client, me: Person) -> dict[str, int]:
    """Every page type, then every kind of write a signed-in person makes: URL → status."""
    seen = {url: client.get(url).status_code for url in page_urls(me)}
    event = Event.objects.order_by("pk").first()
    other = Person.objects.exclude(pk=me.pk).order_by("pk").last()
    subscription = Subscription.objects.filter(person=me).first()
    posts = {
        reverse("person_follow", args=[other.handle]): {},
        reverse("person_unfollow", args=[other.handle]): {},
        reverse("event_attendance", args=[event.slug]): {"role": "attending"},
        reverse("calendar_feed_reset"): {},
    }
    if subscription is not None:
        posts[reverse("subscription_change", args=[subscription.pk, "unsubscribe"])] = {}
        posts[reverse("subscription_change", args=[subscription.pk, "resubscribe"])] = {}
    for url, data in posts.items():
        seen[f"POST {url}"] = client.post(url, data).status_code
    return seen


def me_signed_in(client) -> Person:
    me = Person.objects.filter(subscriptions__isnull=False).order_by("pk").first()
    return sign_in(client, me)


def test_redis_away_every_page_answers_from_the_database(client, world, own_redis):
    me = me_signed_in(client)
    assert BANNER not in client.get("/").content.decode()
    own_redis.stop()
    signed_in = walk(client, me)
    client.logout()
    anonymous = {f"anonymous {url}": client.get(url).status_code for url in page_urls(me)}
    assert not {url: status for url, status in {**signed_in, **anonymous}.items() if status >= 500
                and not url.endswith("/readyz")}
    event = Event.objects.filter(attendances__isnull=False).order_by("pk").first()
    page = client.get(f"/events/{event.slug}/")
    assert page.status_code == 200 and event.name in page.content.decode()
    assert BANNER in page.content.decode()
    assert client.get("/readyz").status_code == 503


def test_search_away_every_page_answers_and_says_so(client, world):
    with site_stores(search={"url": f"http://127.0.0.1:{free_port()}/solr/lanyard"}):
        me = me_signed_in(client)
        seen = walk(client, me)
        assert not {url: status for url, status in seen.items() if status >= 500
                    and url not in ("/readyz", "/search/?q=python", "/api/v1/search?q=python", "/api/v1/people?q=an")}
        assert seen["/search/?q=python"] == 503
        listing = client.get("/people/?q=an").content.decode()
        assert BANNER in listing and "127.0.0.1" not in listing


def test_graph_not_built_every_page_answers_and_says_so(client, world):
    stores.redis().flushdb()
    me = me_signed_in(client)
    calendar = client.get("/calendar/")
    assert calendar.status_code == 200 and BANNER in calendar.content.decode()
    seen = walk(client, me)  # its /readyz starts rebuilding the graph in the background
    assert not {url: status for url, status in seen.items() if status >= 500 and url != "/readyz"}


def test_redis_away_the_operator_pages_say_unknown_and_change_nothing(client, world, own_redis):
    root = User.objects.create_superuser("root", "root@example.com", "a-long-test-password-9")
    client.force_login(root)
    assert "Off: the site takes writes." in client.get("/admin/ops/").content.decode()
    own_redis.stop()
    ops = client.get("/admin/ops/")
    assert ops.status_code == 200 and "<strong>Unknown</strong>" in ops.content.decode()
    assert "Off: the site takes writes." not in ops.content.decode()  # never a default passed off as the state
    changed = client.post("/admin/ops/", {"action": "flag", "name": "search", "condition": "nobody"}, follow=True)
    assert changed.status_code == 200 and "Nothing changed: Redis" in changed.content.decode()
    assert not OpsChange.objects.exists()
    assert client.get(f"/_profile/{uuid.uuid4()}/").status_code == 404
    changelists = [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    assert {url: client.get(url).status_code for url in ["/admin/", *changelists]} == dict.fromkeys(
        ["/admin/", *changelists], 200
    )
