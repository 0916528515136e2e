"""api/answer.py: every catalogue endpoint's JSON, written without django-ninja's second
pass through its schema, is what that pass would have written (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from ninja.renderers import JSONRenderer

from lanyard_site.api import schemas

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def endpoints(catalogue) -> list[tuple[str, type]]:
    talk = catalogue["talk"].pk
    return [
        ("/api/v1/events", schemas.EventPage), ("/api/v1/events?when=past", schemas.EventPage),
        ("/api/v1/events/pycon", schemas.EventDetail), ("/api/v1/talks", schemas.TalkPage),
        (f"/api/v1/talks/{talk}", schemas.TalkDetail), ("/api/v1/people", schemas.PersonPage),
        ("/api/v1/people/ada", schemas.PersonDetail), ("/api/v1/topics", schemas.TopicPage),
        ("/api/v1/topics/python", schemas.TopicDetail), ("/api/v1/coverage", schemas.CoveragePage),
    ]


def test_each_answer_is_its_schemas_validation_of_it(api, catalogue):
    for url, schema in endpoints(catalogue):
        response = api.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = json.loads(response.content)
        assert body.get("items", True), url  # something to compare
        validated = schema.model_validate(body).model_dump(by_alias=True)
        assert response.content.decode() == json.dumps(validated, cls=JSONRenderer.encoder_class), url


def test_links_are_absolute_and_name_the_row(api, catalogue):
    body = api.get(f"/api/v1/talks/{catalogue['talk'].pk}").json()
    assert body["url"] == f"http://testserver/talks/{catalogue['talk'].pk}/"
    assert body["api_url"] == f"http://testserver/api/v1/talks/{catalogue['talk'].pk}"
    assert body["speakers"][0]["url"] == "http://testserver/people/ada/"
    assert body["event"]["topics"][0]["api_url"] == "http://testserver/api/v1/topics/python"
    secure = api.get("/api/v1/events/pycon", HTTP_HOST="lanyard.example", secure=True).json()
    assert secure["url"] == "https://lanyard.example/events/pycon/"
