"""Every query parameter and form field of every page type, signed in, with a NUL byte in it;
every form posted as something other than UTF-8: a 400 naming the problem, never a 500,
and nothing stored.

The parameters and forms are found by reading the pages (every form's fields, every
internal link's query parameters), so a new filter or form is covered without a change here.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from lanyard_site.events.models import Follow
from tests.site.ops.test_degraded import me_signed_in, own_redis, page_urls, world  # noqa: F401  (fixtures)
from tests.site.pages import alias  # noqa: F401  (the fixture: SQLite and PostgreSQL)

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "postgresql"]), pytest.mark.slow]

NUL = "a\x00b"


class Forms(HTMLParser):
    """The forms of a page (action, method, fields with their values) and its links' query parameters."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self.link_params: dict[str, set[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or urlsplit(self.page_url).path
            self.forms.append((action, a.get("method", "get").lower(), {}))
        elif tag in ("input", "select", "textarea", "button") and a.get("name") and self.forms:
            self.forms[-1][2].setdefault(a["name"], a.get("value", "x"))
        elif tag == "a" and a.get("href", "").startswith(("/", "?")):
            href = urlsplit(a["href"])
            path = href.path or urlsplit(self.page_url).path
            self.link_params.setdefault(path, set()).update(name for name, _ in parse_qsl(href.query))


def read(client, url: str) -> Forms:
    forms = Forms(url)
    response = client.get(url)
    if response["Content-Type"].startswith("text/html"):
        forms.feed(response.content.decode())
    return forms


def refused(response, says: str) -> bool:
    return response.status_code == 400 and says in response.content.decode()


def test_a_nul_byte_in_any_parameter_or_field_is_a_400(client, world):
    me = me_signed_in(client)
    follows = Follow.objects.count()
    gets: dict[str, set[str]] = {}
    posts: dict[str, dict[str, str]] = {}
    for url in page_urls(me):
        page = read(client, url)
        gets.setdefault(urlsplit(url).path, set()).update(name for name, _ in parse_qsl(urlsplit(url).query))
        for path, names in page.link_params.items():
            gets.setdefault(path, set()).update(names)
        for action, method, fields in page.forms:
            if method == "get":
                gets.setdefault(action, set()).update(fields)
            else:
                posts.setdefault(action, {}).update(fields)
    # What the crawl must have met: the calendar's filters, the browse filters, search, the actions.
    assert {"speaking", "topic", "month"} <= gets["/calendar/"] and "q" in gets["/search/"]
    assert any("/follow/" in action for action in posts) and "/accounts/signup/" in posts

    answers = {}
    for path, names in gets.items():
        if path in ("/healthz", "/readyz"):
            continue  # answered before any middleware, reading no parameter
        for name in names | {"page"}:
            answers[f"GET {path}?{name}"] = client.get(f"{path}?{urlencode({name: NUL})}")
    for action, fields in posts.items():
        for name in fields:
            answers[f"POST {action} {name}"] = client.post(action, {**fields, name: NUL})
    wrong = {what: r.status_code for what, r in answers.items() if not refused(r, "contains a NUL byte")}
    assert not wrong
    assert Follow.objects.count() == follows  # nothing was written


def test_a_form_not_in_utf8_is_a_400_and_nothing_is_stored(client, world):
    me = me_signed_in(client)
    name = me.name
    form = "application/x-www-form-urlencoded"
    latin1 = urlencode({"name": "Zoë Ünal", "bio": "Café"}, encoding="latin-1")
    for body in (latin1.encode(), "name=Zo\xeb".encode("latin-1"), b"name=%C3%28"):
        response = client.post("/accounts/profile/", body, content_type=form)
        assert refused(response, "not sent as UTF-8"), body
    me.refresh_from_db()
    assert me.name == name  # nothing stored, mangled or not
    signup = client.post("/accounts/signup/", "username=z%F6e&email=z%40example.com", content_type=form)
    assert refused(signup, "not sent as UTF-8")
    utf8 = client.post("/accounts/profile/", urlencode({"name": "Zoë Ünal"}), content_type=form)
    assert utf8.status_code != 400  # the same form in UTF-8 is read as usual
