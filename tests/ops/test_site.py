"""Operating the site: read-only mode, flags, profiles, errors, health, the replica router, the operator admin.

Rendered by Django's test client on SQLite and PostgreSQL against the Redis server.
"""

from __future__ import annotations

import html
import logging
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from digest.config import load_settings
from digest.ops.readonly import ReadOnlyError, read_only_set, writes_refused
from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.events.models import Coverage, Event, Follow, Person, Session
from lanyard_site.mailing.models import Delivery, DigestChunk, DigestRun, Subscription, UnsubscribeEvent
from lanyard_site.ops import health
from lanyard_site.ops.models import OpsChange
from lanyard_site.personal.views import _feed_url
from lanyard_site.routers import ReplicaRouter
from tests.changed_settings import changed
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.faults.servers import free_port
from tests.site.personal.conftest import empty_live_graph

pytestmark = pytest.mark.django_db(
    transaction=True, databases=["default", "postgresql", "replica", "postgresql_replica"]
)
PASSWORD = "a-long-test-password-9"
PREFIX = "lanyard:"  # the test settings' prefix (LANYARD_REDIS_PREFIX unset)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OneDatabase:
    def __init__(self, alias):
        self.alias = alias

    def db_for_read(self, model, **hints):
        return self.alias

    db_for_write = db_for_read


@pytest.fixture(params=["default", "postgresql"])
def alias(request, redis_client):
    with override_settings(DATABASE_ROUTERS=[OneDatabase(request.param)]):
        yield request.param
    stores.engine(request.param).dispose()


def database_url(alias: str) -> str:
    entry = connections[alias].settings_dict
    if entry["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{entry['NAME']}"
    return f"postgresql://{entry['USER']}@{entry['HOST']}:{entry['PORT']}/{entry['NAME']}"


def lanyard(alias: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LANYARD_DATABASE_URL": database_url(alias),
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_DATA_DIR": str(stores.settings.LANYARD.data_dir),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "lanyard_cli", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def sign_in(client, username: str, *, superuser: bool = False) -> User:
    make = User.objects.create_superuser if superuser else User.objects.create_user
    user = make(username=username, email=f"{username}@example.com", password=PASSWORD)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return user


@pytest.fixture
def ada(client, alias):
    user = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    person = Person.objects.create(name="Ada", handle="ada", user=user)
    subscription = Subscription.objects.create(person=person, email="ada@example.com", list="daily")
    assert client.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    return person, subscription


# -- read-only ----------------------------------------------------------------------------


def test_read_only_on_refuses_writes_with_the_banner_then_off_works(client, ada, redis_client):
    person, subscription = ada
    read_only_set(stores.redis(), prefix=PREFIX, on=True, message="Upgrading the database, back by 10:00")
    page = client.get("/subscriptions/").content.decode()
    assert "Upgrading the database, back by 10:00" in page  # the banner
    assert "read-only for now" in page and f"/subscriptions/{subscription.pk}/unsubscribe/" not in page  # no form

    refused = client.post(f"/subscriptions/{subscription.pk}/unsubscribe/")
    assert refused.status_code == 503 and refused["Retry-After"]
    assert "Upgrading the database, back by 10:00" in refused.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active" and not UnsubscribeEvent.objects.exists()  # nothing half-written

    read_only_set(stores.redis(), prefix=PREFIX, on=False)
    assert f"/subscriptions/{subscription.pk}/unsubscribe/" in client.get("/subscriptions/").content.decode()
    done = client.post(f"/subscriptions/{subscription.pk}/unsubscribe/")
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "unsubscribed" and UnsubscribeEvent.objects.count() == 1


def test_database_writes_are_refused_at_the_connection(alias):
    with writes_refused():
        assert Person.objects.count() == 0  # reads work
        with pytest.raises(ReadOnlyError):
            Person.objects.create(name="Nope", handle="nope")
    assert not Person.objects.exists()
    Person.objects.create(name="Yes", handle="yes")  # and off again, writes work


# -- flags --------------------------------------------------------------------------------


def test_a_flag_flipped_with_the_cli_changes_the_next_request(client, ada, alias):
    person, _ = ada
    assert lanyard(alias, "graph", "rebuild").returncode == 0  # the calendar reads the Redis graph
    feed = _feed_url(person).split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{feed}")["Content-Type"].startswith("text/calendar")
    assert "Subscribe in your calendar app" in client.get("/calendar/").content.decode()

    flipped = lanyard(alias, "ops", "flag", "calendar_feed", "nobody")
    assert flipped.returncode == 0, flipped.stderr
    assert client.get(f"/{feed}").status_code == 404
    assert "Subscribe in your calendar app" not in client.get("/calendar/").content.decode()

    assert lanyard(alias, "ops", "flag", "calendar_feed", f"people={person.handle}").returncode == 0
    assert client.get(f"/{feed}").status_code == 200  # ada is named (her signed-in cookie says who she is)
    assert "Subscribe in your calendar app" in client.get("/calendar/").content.decode()
    client.logout()
    assert client.get(f"/{feed}").status_code == 404  # a calendar app fetching the feed is no one in particular
    audit = list(OpsChange.objects.filter(name="flag:calendar_feed").order_by("id").values_list("new_value", "via"))
    assert audit == [('"nobody"', "cli"), ('"people=ada"', "cli")]


@pytest.mark.parametrize(
    "args, says",
    [
        (["ops", "flag", "serch", "nobody"], "unknown flag"),
        (["ops", "flag", "search", "percent=150"], "from 0 to 100"),
        (["ops", "set", "profile_sample_rate=2"], "between 0 and 1"),
        (["ops", "set", "chunk_size=lots"], "whole number"),
        (["ops", "set", "no_such=1"], "unknown setting"),
    ],
)
def test_bad_ops_commands_are_one_line_and_change_nothing(alias, args, says):
    result = lanyard(alias, *args)
    assert result.returncode in (1, 2) and says in result.stderr and "Traceback" not in result.stderr
    assert not OpsChange.objects.exists()
    assert not stores.redis().exists(RedisKeys(PREFIX).ops_flags)


# -- errors -------------------------------------------------------------------------------


@pytest.fixture
def broken_home(alias):
    """The home page fails: its table is renamed away for the test."""
    with connections[alias].cursor() as cursor:
        cursor.execute('ALTER TABLE "event" RENAME TO "event_gone"')
    yield
    with connections[alias].cursor() as cursor:
        cursor.execute('ALTER TABLE "event_gone" RENAME TO "event"')


def test_superusers_see_the_technical_500_page_and_others_do_not(client, alias, broken_home, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        anonymous = client.get("/")
    assert anonymous.status_code == 500
    body = anonymous.content.decode()
    assert "Something went wrong" in body and "Traceback" not in body
    assert "no such table" not in body and "does not exist" not in body  # no error detail for visitors
    assert any(record.exc_info and record.name == "django.request" for record in caplog.records)

    sign_in(client, "root", superuser=True)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        technical = client.get("/")
    assert technical.status_code == 500
    page = technical.content.decode()
    assert "Traceback" in page and "event" in page and "Request information" in page
    logged = [r for r in caplog.records if r.name == "lanyard.site" and r.exc_info]
    assert logged and "shown to superuser root" in logged[0].getMessage()


def test_the_technical_500_page_masks_every_password_key_and_dsn(client, alias, broken_home, monkeypatch):
    """SMTP, Redis, broker and database passwords, the signing keys and the Sentry DSN, wherever
    the page would show them: the settings object, Django's settings, the environment."""
    secrets = {"smtp-pass-1", "redis-pass-2", "broker-pass-3", "db-pass-4", "dsn-key-5", TEST_SECRET}
    lanyard = load_settings({
        "LANYARD_SECRET_KEYS": TEST_SECRET, "LANYARD_DATA_DIR": str(django_settings.LANYARD.data_dir),
        "LANYARD_MAIL_URL": "smtp://mailer:smtp-pass-1@relay.internal:587?starttls=true",
        "LANYARD_REDIS_URL": "redis://:redis-pass-2@127.0.0.1:1/0",
        "LANYARD_BROKER_URL": "amqp://lanyard:broker-pass-3@rabbit.internal:5672/lanyard",
        "LANYARD_DATABASE_URL": "postgresql://lanyard:db-pass-4@db.internal:5432/lanyard",
        "SENTRY_DSN": "https://dsn-key-5@o1.ingest.sentry.io/42",
    })
    monkeypatch.setenv("LANYARD_MAIL_URL", "smtp://mailer:smtp-pass-1@relay.internal:587")
    client.raise_request_exception = False
    sign_in(client, "root", superuser=True)
    with override_settings(LANYARD=lanyard):
        technical = client.get("/")
    page = html.unescape(technical.content.decode())
    assert technical.status_code == 500 and "Traceback" in page and "LANYARD" in page
    assert "relay.internal" in page and "rabbit.internal" in page  # the settings are shown, only masked
    assert not {secret for secret in secrets if secret in page}
    assert "'url': 'smtp://mailer:********************@relay.internal:587?starttls=true'" in page


# -- profiles -----------------------------------------------------------------------------


def test_a_superusers_page_carries_a_profile_only_superusers_can_open(client, alias):
    Event.objects.create(name="Pycon", slug="pycon", start_date=timezone.localdate(), end_date=timezone.localdate())
    anonymous = client.get("/")
    assert "X-Lanyard-Profile" not in anonymous and b"lanyard-profile" not in anonymous.content

    sign_in(client, "root", superuser=True)
    page = client.get("/")
    profile_id = page["X-Lanyard-Profile"]
    assert f'<meta name="lanyard-profile" content="{profile_id}">'.encode() in page.content
    shown = client.get(f"/_profile/{profile_id}/").content.decode()
    assert "GET /" in shown and "SELECT" in shown and "events/home.html" in shown and "redis" in shown

    assert client.get(f"/_profile/{uuid.uuid4()}/").status_code == 404  # unknown (or expired)
    assert client.get("/_profile/not-a-uuid/").status_code == 404
    client.logout()
    assert client.get(f"/_profile/{profile_id}/").status_code == 404  # not a superuser
    stores.redis().delete(RedisKeys(PREFIX).profile(profile_id))


def test_the_sample_rate_profiles_anyone(client, alias):
    assert lanyard(alias, "ops", "set", "profile_sample_rate=1").returncode == 0
    assert "X-Lanyard-Profile" in client.get("/accounts/login/")
    assert lanyard(alias, "ops", "set", "profile_sample_rate=0").returncode == 0
    assert "X-Lanyard-Profile" not in client.get("/accounts/login/")


def test_the_admin_offers_the_bookmarklet_and_the_operations_page(client, alias, redis_client):
    sign_in(client, "root", superuser=True)
    admin = client.get("/admin/").content.decode()
    assert "meta[name=lanyard-profile]" in admin and "/admin/ops/" in admin
    ops = client.get("/admin/ops/").content.decode()
    assert "calendar_feed" in ops and "profile_sample_rate" in ops and "chunk_size" in ops

    assert (
        client.post("/admin/ops/", {"action": "flag", "name": "search", "condition": "percent=150"}).status_code == 302
    )
    assert not redis_client.exists(RedisKeys(PREFIX).ops_flags)  # refused, nothing changed
    client.post("/admin/ops/", {"action": "read_only", "on": "1", "message": "Deploying"})
    assert "Deploying" in client.get("/").content.decode()
    # While read-only, the operator's page still takes the switch back.
    client.post("/admin/ops/", {"action": "read_only", "on": "0"})
    assert "Deploying" not in client.get("/").content.decode()
    client.post("/admin/ops/", {"action": "settings", "site_banner": "Hello operators", "chunk_size": "250"})
    assert "Hello operators" in client.get("/").content.decode()
    names = list(OpsChange.objects.order_by("id").values_list("name", "changed_by", "via"))
    assert names == [
        ("read_only", "root", "admin"),
        ("read_only", "root", "admin"),
        ("site_banner", "root", "admin"),
        ("chunk_size", "root", "admin"),
    ]


# -- health -------------------------------------------------------------------------------


@pytest.fixture
def probed(alias):
    """/readyz opens an engine on every alias (the replicas too): closed after the test, so the
    test databases can be dropped."""
    yield alias
    for name in connections:
        stores.engine(name).dispose()


def test_healthz_and_readyz(client, probed, redis_client):
    empty_live_graph(redis_client)
    assert client.get("/healthz", HTTP_HOST="10.0.0.7").json() == {"status": "ok"}
    ready = client.get("/readyz")  # from loopback: timings and errors
    assert ready.status_code == 200, ready.content
    checks = ready.json()["checks"]
    assert checks["redis"]["ok"] and checks["search"]["ok"] and checks["database:default"]["ok"]
    assert checks["graph"]["ok"] and "ms" in checks["graph"]


def test_readyz_tells_the_public_only_ready_or_not_per_component(client, probed, redis_client):
    """Hosts and drivers' messages only to loopback; a forged X-Forwarded-For from a visitor is
    dropped, and the proxy's client address (not the proxy's own) decides."""
    empty_live_graph(redis_client)
    closed = f"http://127.0.0.1:{free_port()}/solr/lanyard"
    with override_settings(LANYARD=changed(django_settings.LANYARD, search={"url": closed})):
        health._search.cache_clear()
        try:
            inside = client.get("/readyz")
            visitor = client.get("/readyz", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1")
            proxied = client.get("/readyz", HTTP_X_FORWARDED_FOR="127.0.0.1, 198.51.100.7")
        finally:
            health._search.cache_clear()
    assert inside.status_code == visitor.status_code == proxied.status_code == 503
    assert "127.0.0.1" in inside.json()["checks"]["search"]["error"]
    for public in (visitor, proxied):
        assert public.json() == {"status": "unavailable", "checks": {
            **{f"database:{name}": True for name in connections}, "redis": True, "graph": True, "search": False,
        }}


def test_readyz_rebuilds_a_missing_graph_and_is_not_ready_until_then(client, probed, redis_client):
    ada = Person.objects.create(name="Ada", handle="ada")
    grace = Person.objects.create(name="Grace", handle="grace")
    Follow.objects.create(follower=ada, followee=grace)
    redis_client.flushdb()  # a Redis restarted empty
    first = client.get("/readyz")
    assert first.status_code == 503 and not first.json()["checks"]["graph"]["ok"]
    deadline = time.monotonic() + 120
    while (ready := client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, ready.content
        time.sleep(0.2)
    if probed == "default":  # the background rebuild reads the primary, "default" here
        assert stores.graph().follows(ada.pk) == {grace.pk}


# -- the operator admin ---------------------------------------------------------------------


def rows(n: int):
    event = Event.objects.create(
        name="E", slug=f"e{n}-{uuid.uuid4().hex[:6]}", start_date=timezone.localdate(), end_date=timezone.localdate()
    )
    run = DigestRun.objects.create(digest_date=timezone.localdate())
    for i in range(n):
        handle = f"p{uuid.uuid4().hex[:10]}"
        person = Person.objects.create(name=handle, handle=handle)
        subscription = Subscription.objects.create(person=person, email=f"{handle}@example.com")
        talk = Session.objects.create(event=event, title=f"T{i}")
        Coverage.objects.create(session=talk, kind="slides", title=f"C{i}", url="https://slides.example/")
        Delivery.objects.create(
            run=run,
            subscription=subscription,
            digest_date=timezone.localdate(),
            status="failed",
            last_error="451 4.3.0 try again later",
        )
        DigestChunk.objects.create(run=run, number=i, size=1, last_error="lost")
        UnsubscribeEvent.objects.create(subscription=subscription, action="unsubscribe", via="link")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/events/coverage/",
        "/admin/mailing/delivery/",
        "/admin/mailing/digestchunk/",
        "/admin/mailing/unsubscribeevent/",
        "/admin/mailing/subscription/",
        "/admin/events/session/",
        "/admin/ops/opschange/",
    ],
)
def test_operator_changelists_make_the_same_queries_for_3_rows_as_for_30(client, alias, url):
    user = User.objects.create_superuser(username="root", email="r@example.com", password=PASSWORD)
    client.force_login(user)
    counts = []
    for n in (3, 27):
        rows(n)  # 3 rows, then 30
        counter = QueryCounter()
        with connections[alias].execute_wrapper(counter):
            response = client.get(url)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    if "delivery" in url:
        assert "451 4.3.0 try again later" in response.content.decode()


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


# -- the replica router --------------------------------------------------------------------


@pytest.mark.parametrize("primary, replica", [("default", "replica"), ("postgresql", "postgresql_replica")])
def test_pages_read_the_replica_and_writes_and_the_reads_after_them_the_primary(client, redis_client, primary, replica):
    with override_settings(DATABASE_ROUTERS=[ReplicaRouter(primary=primary, replica=replica)]):
        day = timezone.localdate()
        Event.objects.using(primary).create(name="Only on the primary", slug="fresh", start_date=day, end_date=day)
        assert client.get("/events/fresh/").status_code == 404  # the replica has not got it yet
        Event.objects.using(replica).create(name="Replicated", slug="fresh", start_date=day, end_date=day)
        assert "Replicated" in client.get("/events/fresh/").content.decode()

        user = User.objects.db_manager(primary).create_user(username="ada", password=PASSWORD)
        login = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})  # a write: the session
        assert login.status_code == 302 and login.cookies["lanyard_wrote"].value
        assert "Only on the primary" in client.get("/events/fresh/").content.decode()  # read after write
        client.cookies.pop("lanyard_wrote")
        assert "Replicated" in client.get("/events/fresh/").content.decode()
        assert user.pk
    stores.engine(primary).dispose()
    stores.engine(replica).dispose()


def test_link_pasting_is_behind_its_flag(client, ada, alias, redis_client):
    day = timezone.localdate()
    event = Event.objects.create(name="Pycon", slug="pycon", start_date=day, end_date=day)
    talk = Session.objects.create(event=event, title="Fast parsers")
    assert "paste its link" in client.get(f"/talks/{talk.pk}/").content.decode()
    assert lanyard(alias, "ops", "flag", "link_pasting", "staff").returncode == 0  # ada is not staff
    assert "paste its link" not in client.get(f"/talks/{talk.pk}/").content.decode()
    refused = client.post(f"/talks/{talk.pk}/coverage/", {"url": "https://speakerdeck.com/ada/fast"}, follow=True)
    assert "switched off" in refused.content.decode() and not Coverage.objects.exists()


def test_search_is_behind_its_flag(client, alias, redis_client):
    assert 'action="/search/"' in client.get("/").content.decode()
    assert client.get("/search/?q=python").status_code in (200, 503)  # answered by the engine (503: engine away)
    assert lanyard(alias, "ops", "flag", "search", "nobody").returncode == 0
    off = client.get("/search/?q=python")
    assert off.status_code == 503 and "Search is switched off" in off.content.decode()
    assert 'action="/search/"' not in client.get("/").content.decode()
    assert 'name="q"' not in client.get("/people/").content.decode()
