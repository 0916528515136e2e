"""A talk's page (events/selectors/talk.py), with its coverage block."""

from __future__ import annotations

import re

import pytest

from lanyard_site.events.models import Coverage
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_talk_page_embeds_allowed_videos_only(client, data):
    talk = data["talk"]
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="The recording",
        url="https://youtu.be/dQw4w9WgXcQ",
        provider="youtube",
        embed_id="dQw4w9WgXcQ",
    )
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="Elsewhere",
        url="https://videos.example/v/1",
        provider="videos-example",
        embed_id="1",
    )
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="Forged id",
        url="https://youtu.be/x",
        provider="youtube",
        embed_id='"><script>alert(1)</script>',
    )
    response = client.get(f"/talks/{talk.pk}/")
    page = text(response)
    for shown in [
        "Fast parsers",
        "How to parse fast.",
        "/events/pycon/",
        "/people/ada/",
        "Parser slides",
        "The recording",
    ]:
        assert shown in page, shown
    frames = re.findall(r'<iframe src="([^"]+)"', page)
    assert frames == ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"]
    assert "<script>alert" not in page and "style=" not in page
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com" in response["Content-Security-Policy"]
