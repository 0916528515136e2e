"""The catalogue's endpoints against the pages they twin, on SQLite and PostgreSQL: the same
rows, the same filters (and the same "not applied"), cursors, conditional GETs, CORS, errors."""

from __future__ import annotations

import re

import pytest

from lanyard_site.events.models import Event
from tests.site.api.conftest import problem
from tests.site.personal.conftest import make_event

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def test_the_events_list_is_the_events_page_as_json(api, client, catalogue):
    body = api.get("/api/v1/events").json()
    assert [e["slug"] for e in body["items"]] == ["pycon", "later"]  # upcoming, soonest first
    assert body["items"][0]["topics"][0]["slug"] == "python" and body["next"] is None
    page = client.get("/events/").content.decode()
    assert page.index("/events/pycon/") < page.index("/events/later/") and "/events/past/" not in page
    past = api.get("/api/v1/events", {"when": "past"}).json()
    assert [e["slug"] for e in past["items"]] == ["past"]


def test_filters_that_name_nothing_are_reported_not_applied(api, catalogue):
    body = api.get("/api/v1/events", {"city": "Atlantis", "topic": "python", "when": "later"}).json()
    assert [e["slug"] for e in body["items"]] == ["pycon"]  # the topic applied
    assert body["ignored"] == ["when: later", "city: Atlantis"]


def test_the_cursor_walks_every_event_once_in_order(api, alias):
    for n in range(7):
        make_event(f"conf-{n}", 5 + n // 2)  # ties on the date: the name and the id order them
    seen, url, params = [], "/api/v1/events", {"limit": 3}
    while url:
        body = api.get(url, params).json()
        seen += [e["slug"] for e in body["items"]]
        url, params = ("/api/v1/events", {"limit": 3, "cursor": body["next"]}) if body["next"] else (None, None)
    expected = list(Event.objects.order_by("start_date", "name", "pk").values_list("slug", flat=True))
    assert seen == expected and len(seen) == 7


def test_a_tampered_or_foreign_cursor_is_a_problem(api, alias):
    for n in range(3):
        make_event(f"conf-{n}", 5)
    cursor = api.get("/api/v1/events", {"limit": 1}).json()["next"]
    problem(api.get("/api/v1/events", {"cursor": cursor[:-2] + "xx"}), 422)
    problem(api.get("/api/v1/coverage", {"cursor": cursor}), 422)
    problem(api.get("/api/v1/events", {"limit": 1000}), 422)


def test_event_detail_has_talks_people_coverage_and_counts(api, catalogue):
    body = api.get("/api/v1/events/pycon").json()
    assert body["counts"] == {"talks": 1, "attendees": 1, "speakers": 1, "coverage": 1}
    assert body["talks"][0]["speakers"][0]["handle"] == "ada"
    assert body["speakers"]["first"][0]["handle"] == "ada" and body["attendees"]["first"][0]["handle"] == "bob"
    assert body["coverage"][0]["link"] == "https://slides.example/p"
    assert body["url"].endswith("/events/pycon/") and body["api_url"].endswith("/api/v1/events/pycon")


def test_talk_person_topic_and_coverage(api, catalogue):
    talk = api.get(f"/api/v1/talks/{catalogue['talk'].pk}").json()
    assert talk["event"]["slug"] == "pycon" and talk["coverage"][0]["kind"] == "slides"
    ada = api.get("/api/v1/people/ada").json()
    assert [a["event"]["slug"] for a in ada["upcoming"]] == ["pycon"] and ada["upcoming"][0]["role"] == "speaking"
    assert [a["event"]["slug"] for a in ada["past"]] == ["past"] and ada["talks"][0]["title"] == "Fast parsers"
    topic = api.get("/api/v1/topics/python").json()
    assert [e["slug"] for e in topic["upcoming"]] == ["pycon"] and topic["upcoming_events"] == 1
    assert [t["slug"] for t in api.get("/api/v1/topics").json()["items"]] == ["python"]
    speakers = api.get("/api/v1/people").json()
    assert [p["handle"] for p in speakers["items"]] == ["ada"]  # /people/ lists speakers
    assert api.get("/api/v1/coverage", {"person": "ada"}).json()["items"][0]["talk"] == catalogue["talk"].pk
    assert api.get("/api/v1/coverage", {"kind": "video"}).json()["items"] == []
    by_event = api.get("/api/v1/talks", {"event": "pycon"}).json()
    assert [t["id"] for t in by_event["items"]] == [catalogue["talk"].pk]


def test_errors_are_problems(api, catalogue):
    problem(api.get("/api/v1/events/no-such-event"), 404)
    problem(api.get("/api/v1/talks/999999"), 404)
    problem(api.get("/api/v1/talks/0"), 422)
    problem(api.get("/api/v1/talks/99999999999999999999999"), 422)
    problem(api.get("/api/v1/events/Not%20A%20Slug"), 422)
    problem(api.get("/api/v1/no-such-thing"), 404)
    not_allowed = problem(api.post("/api/v1/events"), 405)
    assert not_allowed  # and the Allow header survives the conversion
    assert "GET" in api.post("/api/v1/events")["Allow"]


def test_an_old_slug_moves_to_the_current_address(api, catalogue):
    pycon = catalogue["pycon"]
    pycon.slug = "pycon-lyon"
    pycon.save()
    response = api.get("/api/v1/events/pycon")
    assert response.status_code == 301 and response["Location"] == "/api/v1/events/pycon-lyon"


def test_conditional_gets_answer_304(api, catalogue, redis_client):
    first = api.get("/api/v1/events/pycon")
    etag, modified = first["ETag"], first["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and modified.endswith("GMT")
    again = api.get("/api/v1/events/pycon", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert api.get("/api/v1/events/pycon", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    catalogue["pycon"].description = "Changed."
    catalogue["pycon"].save()
    changed = api.get("/api/v1/events/pycon", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert api.get("/api/v1/events/pycon", HTTP_IF_MODIFIED_SINCE=modified).status_code == 200


def test_head_answers_like_get_without_a_body(api, catalogue):
    response = api.head("/api/v1/events/pycon")
    assert response.status_code == 200 and response.content == b"" and response["ETag"]


def test_cors_for_public_reads_only(api, catalogue):
    public = api.get("/api/v1/events", HTTP_ORIGIN="https://widget.example")
    assert public["Access-Control-Allow-Origin"] == "*" and "ETag" in public["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in public
    preflight = api.options("/api/v1/events", HTTP_ORIGIN="https://widget.example",
                            HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert preflight.status_code == 200 and "GET" in preflight["Access-Control-Allow-Methods"]
    personal = api.get("/api/v1/me", HTTP_ORIGIN="https://widget.example")
    assert "Access-Control-Allow-Origin" not in personal


def test_pages_link_to_their_json_twins(client, api, catalogue):
    for page, twin in (("/events/?city=Lyon&page=1", "/api/v1/events?city=Lyon"), ("/events/pycon/", None),
                       (f"/talks/{catalogue['talk'].pk}/", None), ("/people/ada/", None), ("/topics/", None),
                       ("/coverage/", None)):
        html = client.get(page).content.decode()
        found = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)">', html)
        assert found, page
        href = found.group(1).replace("&amp;", "&")
        if twin:
            assert href == twin
        assert api.get(href).status_code == 200, href


def test_the_openapi_document_and_its_docs_under_the_csp(api, client):
    document = api.get("/api/v1/openapi.json").json()
    assert {"/api/v1/events", "/api/v1/search", "/api/v1/me/follows/{handle}"} <= set(document["paths"])
    events = document["paths"]["/api/v1/events"]["get"]
    assert events["responses"]["429"]["content"]["application/problem+json"]
    assert events["responses"]["200"]["links"]["event"]["parameters"] == {"slug": "$response.body#/items/0/slug"}
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and "default-src 'none'" in docs["Content-Security-Policy"]
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    from django.contrib.staticfiles import finders

    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert finders.find(asset), asset  # among the site's static files: collected, served with them


def test_a_nul_byte_is_a_problem_not_a_page(api, alias):
    body = problem(api.get("/api/v1/events", {"city": "Ly\x00on"}), 400)
    assert "NUL" in body["detail"]
