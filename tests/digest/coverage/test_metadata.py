"""What a link is, read through the guarded client from real pages served on loopback."""

from __future__ import annotations

import dataclasses
import ipaddress
import json

import pytest

from digest.coverage.metadata import clean_text, decode_html, fetch_metadata, parse_oembed
from digest.embeds import FRAME_SRC, PROVIDERS, embed_src, provider_for
from digest.http import Failed, HttpClient, HttpConfig
from tests.web_server import page

ALLOWED = (ipaddress.ip_network("127.0.0.2/32"),)
YOUTUBE_ID = "dQw4w9WgXcQ"
DECK_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def client():
    found = HttpClient(HttpConfig(allow_networks=ALLOWED, deadline=5.0))
    yield found
    found.close()


def discovering(oembed_path: str, extra: str = "", title: str = "Page title") -> str:
    return (f'<html><head><title>{title}</title>'
            f'<link rel="alternate" type="application/json+oembed" href="{oembed_path}" title="oEmbed">{extra}'
            f'</head><body>hello</body></html>')


def oembed(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_oembed_discovery_gives_an_allowed_embed_by_provider_and_id(web_server, client):
    html = (
        f'<iframe width="480" src="https://www.youtube.com/embed/{YOUTUBE_ID}?feature=oembed" allowfullscreen></iframe>'
    )
    web_server.route("/oembed", page(oembed(type="video", title="Keynote: the web", html=html,
                                            thumbnail_url="https://i.ytimg.com/vi/x/hq.jpg"), "application/json"))
    url = web_server.route("/talk", page(discovering("/oembed?url=talk")))
    found = fetch_metadata(client, url)
    assert (found.title, found.kind, found.provider, found.embed_id) == (
        "Keynote: the web",
        "video",
        "youtube",
        YOUTUBE_ID,
    )
    assert found.thumbnail_url == "https://i.ytimg.com/vi/x/hq.jpg"
    assert embed_src(found.provider, found.embed_id) == f"https://www.youtube-nocookie.com/embed/{YOUTUBE_ID}"


@pytest.mark.parametrize("src, provider, embed_id, kind", [
    (f"//speakerdeck.com/player/{DECK_ID}", "speakerdeck", DECK_ID, "slides"),
    ("https://www.slideshare.net/slideshow/embed_code/key/AbC123xyz", "slideshare", "key/AbC123xyz", "slides"),
    ("https://player.vimeo.com/video/76979871?h=8272103f6e", "vimeo", "76979871", "video"),
])
def test_slides_and_video_providers_from_their_oembed_html(web_server, client, src, provider, embed_id, kind):
    web_server.route(
        "/o",
        page(
            oembed(type="rich", title="Deck", html=f'<iframe src="{src}" frameborder="0"></iframe>'), "application/json"
        ),
    )
    found = fetch_metadata(client, web_server.route("/p", page(discovering("/o"))))
    assert (found.provider, found.embed_id, found.kind) == (provider, embed_id, kind)
    assert PROVIDERS[provider].frame_origin in FRAME_SRC


def test_opengraph_when_there_is_no_oembed(web_server, client):
    head = (
        '<meta property="og:title" content="  The write-up\n of the day ">'
        '<meta property="og:image" content="/img/card.png">'
        '<meta property="og:type" content="article">'
    )
    url = web_server.route("/post", page(f"<html><head><title>ignored</title>{head}</head></html>"))
    found = fetch_metadata(client, url)
    assert (found.title, found.kind, found.provider) == ("The write-up of the day", "writeup", "")
    assert found.thumbnail_url == web_server.url("/img/card.png")


def test_title_when_there_is_nothing_else_and_the_url_when_not_even_that(web_server, client):
    assert (
        fetch_metadata(client, web_server.route("/t", page("<title>Just &amp; a title</title>"))).title
        == "Just & a title"
    )
    bare = web_server.route("/bare", page("<p>no head at all</p>"))
    assert fetch_metadata(client, bare).title == bare
    pdf = web_server.route("/deck.pdf", page(b"%PDF-1.4", "application/pdf"))
    assert (fetch_metadata(client, pdf).kind, fetch_metadata(client, pdf).title) == ("slides", pdf)


def test_malformed_oembed_json_falls_back_to_the_page(web_server, client):
    for body in (b'{"title": "unterminated', b"[1, 2, 3]", b"\xff\xfe not json", b'{"title": 42, "html": ["x"]}'):
        web_server.route("/bad", page(body, "application/json"))
        found = fetch_metadata(client, web_server.route("/p", page(discovering("/bad", title="From the page"))))
        assert (found.title, found.provider, found.embed_id) == ("From the page", "", "")
    assert parse_oembed(b"null") is None


@pytest.mark.parametrize("content_type, body", [
    ("text/html; charset=iso-8859-1", b"<title>Caf\xe9 cr\xe8me \xe0 Z\xfcrich</title>"),
    ("text/html", b'<meta charset="latin1"><title>Caf\xe9 cr\xe8me \xe0 Z\xfcrich</title>'),
    ("text/html", b"<title>Caf\xe9 cr\xe8me \xe0 Z\xfcrich</title>"),  # no charset anywhere: not UTF-8, so windows-1252
    ("text/html; charset=utf-8", "<title>Café crème à Zürich</title>".encode()),
])
def test_a_latin1_title_is_decoded(web_server, client, content_type, body):
    found = fetch_metadata(client, web_server.route("/l", page(body, content_type)))
    assert found.title == "Café crème à Zürich"


def test_control_characters_are_stripped_from_titles(web_server, client):
    body = "<title>Bell\x07 and\x00 escape\x1b[31m red\u202e\u200b\r\n\tend</title>".encode()
    found = fetch_metadata(client, web_server.route("/c", page(body)))
    assert found.title == "Bell and escape[31m red end"
    assert clean_text("x" * 400) == "x" * 300


def test_an_oembed_html_holding_a_script_stores_nothing_of_it(web_server, client):
    evil = ('<script>alert(document.cookie)</script><iframe src="https://evil.example/embed/x"></iframe>'
            '<iframe src="javascript:alert(1)"></iframe>'
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"onload="alert(1)"></iframe>')
    web_server.route("/o", page(oembed(type="rich", title="<b>Bold</b> claim\x00", html=evil), "application/json"))
    found = fetch_metadata(client, web_server.route("/p", page(discovering("/o"))))
    assert found.title == "<b>Bold</b> claim"  # text, escaped when shown; never markup
    stored = " ".join(str(v) for v in dataclasses.asdict(found).values())
    assert "script" not in stored and "alert" not in stored and "evil" not in stored
    # The one well-formed YouTube player src is recognised; only its checked id is kept.
    assert (found.provider, found.embed_id) == ("youtube", YOUTUBE_ID)


def test_an_oembed_link_to_a_forbidden_address_is_not_followed(web_server, client):
    url = web_server.route("/p", page(discovering("http://169.254.169.254/latest/meta-data/", title="Safe page")))
    found = fetch_metadata(client, url)
    assert (found.title, found.provider) == ("Safe page", "")


def test_http_errors_fail_temporarily_or_for_good(web_server, client):
    with pytest.raises(Failed, match="HTTP 404") as gone:
        fetch_metadata(client, web_server.route("/404", page("nope", status=404)))
    assert not gone.value.temporary
    with pytest.raises(Failed, match="HTTP 503") as busy:
        fetch_metadata(client, web_server.route("/503", page("later", status=503)))
    assert busy.value.temporary


def test_a_conditional_refetch_reports_not_modified(web_server, client):
    def validated(h):
        if h.headers.get("If-None-Match") == '"abc"':
            h.send_response(304)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        body = b"<title>Versioned</title>"
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("ETag", '"abc"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    url = web_server.route("/v", validated)
    first = fetch_metadata(client, url)
    assert (first.title, first.etag) == ("Versioned", '"abc"')
    assert fetch_metadata(client, url, etag=first.etag).not_modified


def test_known_providers_are_recognised_from_their_links():
    assert provider_for("https://www.youtube.com/watch?v=dQw4w9WgXcQ").id_from_page(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ") == YOUTUBE_ID
    assert provider_for("https://youtu.be/dQw4w9WgXcQ?t=3").name == "youtube"
    assert provider_for("https://vimeo.com/76979871").id_from_page("https://vimeo.com/76979871") == "76979871"
    assert provider_for("https://www.slideshare.net/someone/deck").name == "slideshare"
    assert provider_for("https://speakerdeck.com/someone/deck").name == "speakerdeck"
    assert provider_for("https://notyoutube.com/watch?v=dQw4w9WgXcQ") is None
    assert provider_for("https://www.youtube.com/oembed").oembed_url("https://youtu.be/x") == (
        "https://www.youtube.com/oembed?url=https%3A%2F%2Fyoutu.be%2Fx&format=json")
    assert embed_src("youtube", '"><script>') is None and embed_src("nosuch", "x") is None


def test_decode_html_prefers_the_header_then_a_bom_then_meta():
    assert decode_html("é".encode(), "utf-8") == "é"
    assert decode_html(b"\xef\xbb\xbf\xc3\xa9", "") == "é"
    assert decode_html(b"<meta charset=koi8-r>\xc1", "") .endswith("а")
    assert decode_html(b"\xe9", "no-such-charset") == "é"
