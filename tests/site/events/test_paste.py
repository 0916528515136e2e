"""Pasting a link on talk and event pages, and coverage on every page that shows it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from digest.vocabulary import CoverageStatus, LinkFailure
from lanyard_site.events.models import Coverage, Event, Person, Session, Topic
from lanyard_site.ops.models import OpsChange
from tests.site.pages import OneDatabase

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])
YOUTUBE_ID = "dQw4w9WgXcQ"


@pytest.fixture(params=["default", "postgresql"])
def alias(request, redis_client):
    with override_settings(DATABASE_ROUTERS=[OneDatabase(request.param)]):
        yield request.param


@pytest.fixture
def world(alias):
    python = Topic.objects.create(name="Python", slug="python")
    day = timezone.localdate() + dt.timedelta(days=5)
    pycon = Event.objects.create(name="PyCon", slug="pycon", start_date=day, end_date=day)
    pycon.topics.add(python)
    ada = Person.objects.create(name="Ada", handle="ada", user=User.objects.create_user("ada", password="pw"))
    bob = Person.objects.create(name="Bob", handle="bob", user=User.objects.create_user("bob", password="pw"))
    talk = Session.objects.create(event=pycon, title="Compilers for fun")
    talk.speakers.add(ada)
    return {"topic": python, "event": pycon, "talk": talk, "ada": ada, "bob": bob}


def signed_in(person: Person, **options) -> Client:
    client = Client(**options)
    client.force_login(person.user)
    return client


def test_a_signed_in_person_pastes_a_link_on_a_talk(world):
    client = signed_in(world["ada"])
    talk = world["talk"]
    assert b'class="paste-link"' in client.get(f"/talks/{talk.pk}/").content
    response = client.post(f"/talks/{talk.pk}/coverage/", {"url": "https://speakerdeck.com/ada/compilers", "kind": ""})
    assert response.status_code == 302 and response["Location"] == f"/talks/{talk.pk}/#coverage"
    coverage = Coverage.objects.get()
    assert (coverage.session_id, coverage.event_id, coverage.status, coverage.title, coverage.added_by_id) == (
        talk.pk, None, CoverageStatus.FETCHING, "https://speakerdeck.com/ada/compilers", world["ada"].pk)
    page = client.get(f"/talks/{talk.pk}/").content.decode()
    assert "Link added; lanyard is fetching it now." in page and "fetching…" in page
    # Someone else sees the link, not its fetch status.
    other = signed_in(world["bob"]).get(f"/talks/{talk.pk}/").content.decode()
    assert "https://speakerdeck.com/ada/compilers" in other and "fetching…" not in other


def test_a_paste_on_an_event_with_a_chosen_kind(world):
    client = signed_in(world["bob"])
    response = client.post("/events/pycon/coverage/", {"url": "https://blog.example/pycon-notes", "kind": "notes"})
    assert response.status_code == 302
    coverage = Coverage.objects.get()
    assert (coverage.event_id, coverage.session_id, coverage.kind) == (world["event"].pk, None, "notes")


def test_nobody_signed_in_adds_nothing(world):
    response = Client().post(f"/talks/{world['talk'].pk}/coverage/", {"url": "https://example.com/x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert not Coverage.objects.exists()
    assert b'class="paste-link"' not in Client().get(f"/talks/{world['talk'].pk}/").content


def test_a_post_without_the_csrf_token_is_refused(world):
    strict = signed_in(world["ada"], enforce_csrf_checks=True)
    response = strict.post(f"/talks/{world['talk'].pk}/coverage/", {"url": "https://example.com/x"})
    assert response.status_code == 403
    assert not Coverage.objects.exists()


def test_a_get_is_not_a_paste(world):
    assert signed_in(world["ada"]).get(f"/talks/{world['talk'].pk}/coverage/").status_code == 405


@pytest.mark.parametrize("url, message", [
    ("javascript:alert(1)", "not a web address"),
    ("ftp://files.example/deck.pdf", "Only http:// and https:// links can be added"),
    ("not a url", "not a web address"),
    ("https://example.com/" + "x" * 500, "longer than 500 characters"),
    ("", "This field is required"),
])
def test_bad_links_are_refused_with_a_message_and_store_nothing(world, url, message):
    client = signed_in(world["ada"])
    response = client.post(f"/talks/{world['talk'].pk}/coverage/", {"url": url}, follow=True)
    assert response.status_code == 200
    assert "No link was added: " in response.content.decode() and message in response.content.decode()
    assert not Coverage.objects.exists()


def test_unknown_talks_and_kinds(world):
    client = signed_in(world["ada"])
    assert client.post("/talks/999999/coverage/", {"url": "https://example.com/"}).status_code == 404
    response = client.post(
        f"/talks/{world['talk'].pk}/coverage/", {"url": "https://example.com/", "kind": "poem"}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Coverage.objects.exists()


def test_a_failed_fetch_shows_its_reason_in_words_to_its_author_only(world):
    Coverage.objects.create(session=world["talk"], url="https://no-such-host.invalid/x", title="https://no-such-host.invalid/x",
                            status="failed", failure=LinkFailure.NOT_FOUND, added_by=world["ada"])
    mine = signed_in(world["ada"]).get(f"/talks/{world['talk'].pk}/").content.decode()
    assert "could not fetch it: the address could not be found (no such site)" in mine
    theirs = Client().get(f"/talks/{world['talk'].pk}/").content.decode()
    assert "https://no-such-host.invalid/x" in theirs and "could not fetch it" not in theirs


def test_a_reason_stored_raw_before_is_not_shown_raw(world):
    Coverage.objects.create(session=world["talk"], url="https://a.example/x", title="A", status="failed",
                            failure="connection failed: [Errno 113] No route to host", added_by=world["ada"])
    mine = signed_in(world["ada"]).get(f"/talks/{world['talk'].pk}/").content.decode()
    assert "could not fetch it: the link could not be read" in mine and "Errno" not in mine


REFUSED_URL = "http://127.0.0.1:8000/admin/"


@pytest.fixture
def refused(world):
    """Ada's link that the guarded client refused, on the talk and on the event."""
    on_talk = Coverage.objects.create(session=world["talk"], url=REFUSED_URL, title=REFUSED_URL, status="refused",
                                      failure=LinkFailure.PRIVATE_ADDRESS, added_by=world["ada"])
    on_event = Coverage.objects.create(event=world["event"], url="http://10.1.2.3/", title="http://10.1.2.3/",
                                       status="refused", failure=LinkFailure.PRIVATE_ADDRESS, added_by=world["ada"])
    return {"talk": on_talk, "event": on_event}


def test_a_refused_link_is_shown_to_its_author_alone_with_the_reason(world, refused):
    talk = world["talk"]
    mine = signed_in(world["ada"]).get(f"/talks/{talk.pk}/").content.decode()
    assert REFUSED_URL in mine
    assert ("Only you see this link: lanyard will not fetch it, as it points at a private or local network "
            "address, which lanyard never fetches.") in mine
    assert f'href="{REFUSED_URL}"' not in mine  # named, not linked
    pages = [f"/talks/{talk.pk}/", "/events/pycon/", "/people/ada/", "/topics/python/", "/coverage/",
             "/coverage/?kind=writeup", f"/api/v1/talks/{talk.pk}", "/api/v1/events/pycon", "/api/v1/coverage"]
    for client in (Client(), signed_in(world["bob"])):
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, path
            body = response.content.decode()
            assert "127.0.0.1" not in body and "10.1.2.3" not in body and "Only you see" not in body, path


def test_the_author_removes_a_link_after_confirming(world, refused):
    ada = signed_in(world["ada"])
    talk_page = ada.get(f"/talks/{world['talk'].pk}/").content.decode()
    remove = f"/coverage/{refused['talk'].pk}/remove/"
    assert f'href="{remove}"' in talk_page
    confirm = ada.get(remove)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Remove this link?" in body and REFUSED_URL in body and "Compilers for fun" in body
    assert "it points at a private or local network address" in body and 'name="csrfmiddlewaretoken"' in body
    assert Coverage.objects.filter(pk=refused["talk"].pk).exists()  # a GET removes nothing
    response = ada.post(remove)
    assert response.status_code == 302 and response["Location"] == f"/talks/{world['talk'].pk}/#coverage"
    assert not Coverage.objects.filter(pk=refused["talk"].pk).exists()
    assert Coverage.objects.filter(pk=refused["event"].pk).exists()
    page = ada.get(f"/talks/{world['talk'].pk}/").content.decode()
    assert f"Link removed: {REFUSED_URL}" in page and remove not in page
    audit = OpsChange.objects.get()
    assert (audit.name, audit.changed_by, audit.via, json.loads(audit.new_value)) == (
        f"coverage:{refused['talk'].pk}", "ada", "site", None)
    assert json.loads(audit.old_value) == {"url": REFUSED_URL, "title": REFUSED_URL, "on": f"talk {world['talk'].pk}",
                                           "status": "refused", "added_by": "ada"}
    # The event's link goes back to the event page.
    response = ada.post(f"/coverage/{refused['event'].pk}/remove/")
    assert response["Location"] == "/events/pycon/#coverage"


def test_only_the_author_or_staff_can_remove_and_only_by_a_post_with_csrf(world, refused):
    remove = f"/coverage/{refused['talk'].pk}/remove/"
    bob = signed_in(world["bob"])
    assert bob.get(remove).status_code == 404 and bob.post(remove).status_code == 404
    assert "/remove/" not in bob.get(f"/talks/{world['talk'].pk}/").content.decode()
    anonymous = Client().post(remove)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert signed_in(world["ada"]).get("/coverage/999999/remove/").status_code == 404
    assert signed_in(world["ada"]).put(remove).status_code == 405
    no_csrf = signed_in(world["ada"], enforce_csrf_checks=True).post(remove)
    assert no_csrf.status_code == 403
    assert Coverage.objects.filter(pk=refused["talk"].pk).exists() and not OpsChange.objects.exists()
    staff = User.objects.create_user("mod", password="pw", is_staff=True)
    moderator = Client()
    moderator.force_login(staff)
    page = moderator.get(f"/talks/{world['talk'].pk}/").content.decode()
    assert "127.0.0.1" not in page  # staff remove links; only the author sees a refused one on the page
    assert moderator.post(f"/coverage/{refused['event'].pk}/remove/").status_code == 302
    assert OpsChange.objects.get().changed_by == "mod"
    ok = Coverage.objects.create(session=world["talk"], url="https://slides.example/s", title="Slides",
                                 added_by=world["bob"])
    assert f"/coverage/{ok.pk}/remove/" in moderator.get(f"/talks/{world['talk'].pk}/").content.decode()


def test_embeds_are_lanyards_own_iframe_for_allowed_providers_only(world):
    talk = world["talk"]
    Coverage.objects.create(session=talk, url=f"https://youtu.be/{YOUTUBE_ID}", title="The recording", kind="video",
                            provider="youtube", embed_id=YOUTUBE_ID)
    Coverage.objects.create(session=talk, url="https://evil.example/", title="Tampered", kind="video",
                            provider="youtube", embed_id='"><script>alert(1)</script>')
    Coverage.objects.create(session=talk, url="https://other.example/", title="Unknown provider", provider="evilcorp",
                            embed_id="abc")
    page = Client().get(f"/talks/{talk.pk}/").content.decode()
    assert page.count("<iframe") == 1
    assert f'src="https://www.youtube-nocookie.com/embed/{YOUTUBE_ID}"' in page
    assert "<script>alert" not in page


def test_coverage_shows_on_the_talk_event_person_and_topic_pages(world):
    Coverage.objects.create(session=world["talk"], url="https://slides.example/c", title="Slides of the compilers talk",
                            kind="slides")
    Coverage.objects.create(event=world["event"], url="https://blog.example/p", title="PyCon write-up", kind="writeup")
    client = Client()

    def coverage_section(path: str) -> str:
        body = client.get(path).content.decode()
        return body[body.index('<section id="coverage">'):]  # what is listed there, not in the <title> or elsewhere

    talk = coverage_section(f"/talks/{world['talk'].pk}/")
    assert "Slides of the compilers talk" in talk and "PyCon write-up" not in talk
    event = coverage_section("/events/pycon/")
    assert "Slides of the compilers talk" in event and "PyCon write-up" in event
    person = coverage_section("/people/ada/")
    assert "Slides of the compilers talk" in person and "PyCon write-up" not in person
    topic = coverage_section("/topics/python/")
    assert "Slides of the compilers talk" in topic and "PyCon write-up" in topic


def test_the_admin_fetches_links_again(world):
    coverage = Coverage.objects.create(session=world["talk"], url="https://slides.example/c", title="Old title",
                                       kind="slides", status="failed", failure="timed out", etag='"x"')
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw"))
    response = admin.post("/admin/events/coverage/", {"action": "fetch_again", "_selected_action": [coverage.pk]},
                          follow=True)
    assert "1 links will be fetched again." in response.content.decode()
    coverage.refresh_from_db()
    assert (coverage.status, coverage.failure, coverage.etag) == ("fetching", "", "")
    page = admin.get(f"/admin/events/coverage/{coverage.pk}/change/").content.decode()
    assert 'name="embed_id"' not in page  # read-only: what the fetch found is not typed in
