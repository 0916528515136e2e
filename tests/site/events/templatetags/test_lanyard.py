"""The site's template filters (events/templatetags/lanyard.py): only web URLs become links; search
results mark what matched (the page itself: tests/site/events/selectors/test_search.py)."""

from __future__ import annotations

import re

import pytest

from lanyard_site.events.models import Coverage, Event, Person
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_stored_javascript_urls_are_never_links(client, data):
    # Writes that bypass validation, as a bulk load or an old row would.
    Event.objects.filter(pk=data["pycon"].pk).update(url="javascript:alert(1)")
    Coverage.objects.filter(title="Parser slides").update(url="JaVaScRiPt:alert(2)")
    Coverage.objects.filter(title="Pycon videos").update(url="data:text/html,<script>alert(3)</script>")
    Person.objects.filter(pk=data["ada"].pk).update(avatar_url="javascript:alert(4)")
    data["pycon"].touch()
    for url in ["/events/pycon/", f"/talks/{data['talk'].pk}/", "/people/ada/", "/coverage/"]:
        page = text(client.get(url)).lower()
        assert "javascript:" not in page and "data:text" not in page, url
    assert "link withheld" in text(client.get("/coverage/"))


def test_filter_options_mark_the_chosen_value_and_escape_every_other(client, data):
    Event.objects.filter(pk=data["pycon"].pk).update(city='Lyon <"&>')
    from django.core.cache import cache

    cache.clear()  # the filter choices, read again with the new city
    page = client.get("/events/", {"topic": "python", "city": 'Lyon <"&>', "when": "upcoming"}).content.decode()
    assert '<option value="python" selected>Python</option>' in page
    assert "<option selected>Lyon &lt;&quot;&amp;&gt;</option>" in page
    assert page.count(" selected>") == 3  # when, topic and city; no country chosen
    coverage = client.get("/coverage/", {"topic": "python"}).content.decode()
    assert '<option value="python" selected>Python</option>' in coverage


def test_search_results_mark_the_words_found_and_escape_the_rest():
    from lanyard_site.events.templatetags.lanyard import facet_label, marked

    assert marked([("<b>Ada</b> on ", False), ("parsers", True), (" & more", False)]) == (
        "&lt;b&gt;Ada&lt;/b&gt; on <mark>parsers</mark> &amp; more"
    )
    assert marked([("<script>", True)]) == "<mark>&lt;script&gt;</mark>"
    assert [facet_label(kind, "type") for kind in ("event", "session", "person", "coverage")] == [
        "Events", "Talks", "People", "Coverage",
    ]
    assert (facet_label("past", "when"), facet_label("lyon", "city")) == ("Past", "lyon")



def test_a_facet_shows_its_first_values_and_the_applied_one_each_escaped():
    from django.test import RequestFactory

    from lanyard_site.events.templatetags.lanyard import facet

    request = RequestFactory().get("/search/", {"q": "café & co", "city": "C14", "page": "3"})
    values = [(f"C{n}", 20 - n) for n in range(1, 16)] + [('Lyon <"&>', 1)]
    html = facet({"request": request}, "city", "City", values, "C14", 12)
    shown = [value for value, _ in values if f">{value} <span" in html]
    assert shown == [f"C{n}" for n in range(1, 13)] + ["C14"]  # the first twelve and the applied one
    assert 'class="facet-on" aria-current="true" href="?q=caf%C3%A9+%26+co"' in html  # removes it, page 1
    assert 'href="?q=caf%C3%A9+%26+co&amp;city=C2">C2 <span class="count">18</span></a>' in html
    everything = facet({"request": request}, "city", "City", values, "", 0)
    assert 'city=Lyon+%3C%22%26%3E">Lyon &lt;&quot;&amp;&gt; <span' in everything
    assert facet({"request": request}, "topic", "Topic", [], "", 12) == ""
    only_applied = facet({"request": request}, "topic", "Topic", [], "django", 12)
    assert only_applied.startswith('<section class="facet"><h2>Topic</h2>')


def test_an_event_row_is_rendered_once_per_version_and_its_visitor_part_each_time(alias, data):
    from django.core.cache import caches
    from django.db import connections
    from django.template import Context
    from django.test.utils import CaptureQueriesContext

    from lanyard_site.events.templatetags.lanyard import event_row

    caches["rows"].clear()
    pycon = Event.objects.get(slug="pycon")
    Event.objects.filter(pk=pycon.pk).update(name="Py <Con> & co")
    pycon.refresh_from_db()
    with CaptureQueriesContext(connections[alias]) as queries:
        first = event_row(Context(), pycon, note="speak by 1 Jun", show_topics=True)
    assert len(queries) == 1  # its topics, read once
    assert first.startswith('<li class="event-row"><span class="datebox"') and first.endswith("</div></li>")
    assert ">Py &lt;Con&gt; &amp; co</a>" in first and " · speak by 1 Jun</p>" in first
    assert '<a class="tag" href="/topics/python/">Python</a>' in first
    with CaptureQueriesContext(connections[alias]) as queries:
        assert event_row(Context(), pycon, note="speak by 1 Jun", show_topics=True) == first
    assert len(queries) == 0  # kept: not rendered again
    without = event_row(Context(), pycon, note="speak by 1 Jun")
    assert 'class="tag"' not in without  # shown without topics: a row of its own
    going = event_row(Context({"followed_going": {pycon.pk: 3}}), pycon, show_topics=True)
    assert re.search(r"3 people you follow are going</span>\s*</div></li>$", going)  # the visitor's part, in the row
    assert "you follow" not in event_row(Context({"followed_going": {data["past"].pk: 2}}), pycon, show_topics=True)
    pycon.touch()  # a new cache_version: the edit shows at once
    Event.objects.filter(pk=pycon.pk).update(name="PyCon Lyon")
    pycon.refresh_from_db()
    assert ">PyCon Lyon</a>" in event_row(Context(), pycon, note="speak by 1 Jun", show_topics=True)


def test_avatars_and_person_chips_escape_what_people_wrote():
    from django.utils.safestring import mark_safe

    from lanyard_site.events.templatetags.lanyard import avatar
    from lanyard_site.personal.templatetags.personal import person_chip

    who = Person(name='<b>Ada</b> "Lovelace"', handle="ada", avatar_url='https://img.example/a.png?x=1&y="2"')
    drawn = avatar(who, "large")
    assert drawn.startswith('<span class="avatar large hue-') and '<b>' not in drawn
    assert '<span class="initials">?</span>' in drawn  # neither word starts with a letter
    assert 'src="https://img.example/a.png?x=1&amp;y=&quot;2&quot;"' in drawn
    assert "<img" not in avatar(Person(name="Bob", handle="bob", avatar_url="javascript:alert(1)"))
    assert "<img" not in avatar(Person(name="Bob", handle="bob", avatar_url="http://plain.example/b.png"))
    chip = person_chip(who, None, "3 shared <i>")
    assert chip.startswith('<li class="person-chip"><a href="/people/ada/">')
    assert '<span class="person-name">&lt;b&gt;Ada&lt;/b&gt; &quot;Lovelace&quot;</span>' in chip
    assert '<span class="meta">3 shared &lt;i&gt;</span></li>' in chip
    assert '<span class="meta"><i>kept</i></span>' in person_chip(who, None, mark_safe("<i>kept</i>"))
    assert "meta" not in person_chip(who)
