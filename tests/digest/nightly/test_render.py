"""Rendering digests: content, escaping, absolute links, and CSS inlined once = premailer per email."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import jinja2
import lxml.html
import pytest

from digest.nightly.render import Renderer, inline_template_css, premail
from digest.values import DigestItem
from tests.digest.nightly import sample_digests as samples
from tests.digest.nightly.sample_digests import ADA, ALAN, GRACE, LINUS, event, make_digest, person


@pytest.fixture(scope="module")
def renderer():
    return Renderer(base_url=samples.BASE)


SAMPLES = {
    "rich": samples.rich_digest,
    "single": samples.single_digest,
    "hostile": samples.hostile_digest,
    "soon only": lambda: make_digest(
        soon_items=[DigestItem(event(5, "Local Meetup", days=1), speakers=(ALAN,), attendees=())]
    ),
    "crowd": lambda: make_digest(
        [
            DigestItem(
                event(7, "Big Conf"),
                speakers=tuple(person(i, f"Speaker {i}") for i in range(10, 22)),
                attendees=tuple(person(i, f"Person {i}") for i in range(30, 60)),
            )
        ]
    ),
}


def canonical(html: str) -> list:
    """The document as a list of (tag, attributes, text, tail), whitespace collapsed."""
    root = lxml.html.document_fromstring(html)

    def squash(value):
        return " ".join((value or "").split())

    return [
        (
            element.tag,
            sorted((k, squash(v)) for k, v in element.attrib.items()),
            squash(element.text),
            squash(element.tail),
        )
        for element in root.iter()
        if isinstance(element.tag, str)
    ]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_inlined_templates_equal_premailer_on_each_email(renderer, name):
    """CSS inlined into the templates once gives what premailer on every rendered email gives."""
    naive = Renderer(base_url=samples.BASE, inline_css=False)
    digest = SAMPLES[name]()
    product = renderer.render(digest).html
    baseline = premail(naive.render(digest).html, naive.css)
    assert canonical(product) == canonical(baseline)
    assert 'style="' in product and "<style" in product  # inlined rules, and the @media rules kept
    assert "lyjinja" not in product


def test_templates_are_inlined_once_when_they_load(renderer):
    source, _, _ = renderer.environment.loader.get_source(renderer.environment, "digest.html")
    assert "{{ event.name }}" in source and 'style="' in source
    assert renderer.environment.get_template("digest.html") is renderer.html_template
    raw = Renderer(base_url=samples.BASE, inline_css=False)
    raw_source, _, _ = raw.environment.loader.get_source(raw.environment, "digest.html")
    assert 'style="' not in raw_source


def test_inlining_refuses_jinja_it_would_break():
    with pytest.raises(jinja2.TemplateError, match="lost Jinja syntax"):
        inline_template_css('<html><body><p {% if x %}class="a"{% endif %}>hi</p></body></html>', "p { color: red }")


def test_content_of_a_rich_digest(renderer):
    rendered = renderer.render(samples.rich_digest())
    for part in (rendered.text, rendered.html):
        for name in ("PyCon US", "EuroPython", "DjangoCon Europe", "Python Meetup Berlin", "Ada Lovelace",
                     "Alan Turing", "Margaret Hamilton", "Pittsburgh", "Prague", "5–7 Mar 2026", "Sat 11 Apr 2026"):
            assert name in part
        assert "Speaking" in part and "Attending" in part
        assert "https://lanyard.example.com/calendar/" in part
        assert "https://lanyard.example.com/u/TOKEN123.sig" in part
    # Soonest first, as the digest lists them; "also coming up" after the new events.
    assert rendered.text.index("PyCon US") < rendered.text.index("EuroPython") < rendered.text.index("DjangoCon Europe")
    assert (
        rendered.text.index("DjangoCon Europe")
        < rendered.text.index("Also coming up")
        < rendered.text.index("Python Meetup Berlin")
    )
    assert "5 upcoming events" in rendered.text
    assert "And 2 more events" in rendered.html
    # Avatars are initials: no remote image to block or break.
    assert "<img" not in rendered.html
    # The initials badge is decorative (the linked name follows it), so screen readers skip it.
    badge = '<span class="avatar" aria-hidden="true">AL</span> <a href="https://lanyard.example.com/people/person1/"'
    assert badge in rendered.html
    for part in (rendered.text, rendered.html):
        assert "https://lanyard.example.com/events/event-1/event.ics" in part  # "Add to calendar"
        assert "https://lanyard.example.com/calendar/FEEDTOKEN.ics" in part
        assert "lanyard" in part and "1 Rua Augusta, 1100-048 Lisbon, Portugal" in part


def test_text_part_reads_on_its_own(renderer):
    text = renderer.render(samples.rich_digest()).text
    # No markup: the only angle brackets delimit addresses (RFC 3986, appendix C).
    assert not re.search(r"<(?!https://)", text) and "&amp;" not in text and "{" not in text
    lines = text.splitlines()
    assert lines[0] == "Hi Barbara Liskov,"
    block = lines[lines.index("PyCon US"):lines.index("PyCon US") + 9]
    assert block == [
        "PyCon US",
        "5–7 Mar 2026 - Pittsburgh, United States",
        "https://lanyard.example.com/events/event-1/",
        "Add to calendar: https://lanyard.example.com/events/event-1/event.ics",
        "Speaking:",
        "- Ada Lovelace <https://lanyard.example.com/people/person1/>",
        "Attending:",
        "- Alan Turing <https://lanyard.example.com/people/person2/>",
        "- Grace Hopper <https://lanyard.example.com/people/person3/>",
    ]
    soon = lines[lines.index("Python Meetup Berlin - Wed 4 Mar 2026, Berlin"):][:3]
    assert soon[2] == "with Grace Hopper <https://lanyard.example.com/people/person3/>"
    assert "Unsubscribe: https://lanyard.example.com/u/TOKEN123.sig" in lines
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    ("digest", "subject"),
    [
        (samples.single_digest(), "Ada Lovelace is going to PyCon US"),
        (
            make_digest([DigestItem(event(1, "PyCon US"), speakers=(ADA,), attendees=())]),
            "Ada Lovelace is speaking at PyCon US",
        ),
        (
            make_digest([DigestItem(event(1, "PyCon US"), speakers=(), attendees=(ADA, ALAN))]),
            "Ada Lovelace and Alan Turing are going to PyCon US",
        ),
        (
            make_digest([DigestItem(event(1, "PyCon US"), speakers=(), attendees=(ADA, ALAN, GRACE))], more_count=1),
            "Ada Lovelace and 2 others are going to PyCon US (+1 more event)",
        ),
        # Only the three at PyCon US count for it: the other people go elsewhere.
        (samples.rich_digest(), "Ada Lovelace and 2 others are going to PyCon US (+4 more events)"),
        (
            make_digest(
                [
                    DigestItem(event(1, "PyCon US"), speakers=(), attendees=(ADA,)),
                    DigestItem(event(2, "EuroPython"), speakers=(), attendees=(ADA, LINUS)),
                ]
            ),
            "Ada Lovelace is going to PyCon US (+1 more event)",
        ),
        (
            make_digest(
                soon_items=[
                    DigestItem(event(1, "PyCon US"), speakers=(), attendees=(ADA,)),
                    DigestItem(event(2, "EuroPython"), speakers=(), attendees=(ALAN,)),
                ]
            ),
            "Coming up this week: PyCon US (+1 more event)",
        ),
    ],
)
def test_subject_says_what_is_inside(renderer, digest, subject):
    assert renderer.render(digest).subject == subject


def test_hostile_names_are_escaped_in_html(renderer):
    html = renderer.render(samples.hostile_digest()).html
    assert "<script" not in html.lower()
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;Nowhere&lt;/b&gt;" in html
    # The parsed document has exactly the elements the template made, nothing injected.
    tags = {element.tag for element in lxml.html.document_fromstring(html).iter() if isinstance(element.tag, str)}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "div", "table", "tr", "td", "a", "p", "span"}
    assert 'Mallory &amp; &#34;Eve&#34;' in html or "Mallory &amp; &quot;Eve&quot;" in html


def test_subject_is_one_line_whatever_the_names(renderer):
    subject = renderer.render(samples.hostile_digest()).subject
    assert "\r" not in subject and "\n" not in subject
    assert subject.startswith('<script>alert("x")</script> Mallory & "Eve" is speaking at')


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("href", "src")]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_link_is_absolute_and_there_are_no_scripts(renderer, name):
    rendered = renderer.render(SAMPLES[name]())
    parser = _Links()
    parser.feed(rendered.html)
    assert parser.urls
    assert all(url.startswith(("https://", "http://")) for url in parser.urls), parser.urls
    assert "<script" not in rendered.html.lower() or name == "hostile" and "&lt;script" in rendered.html
    assert 'href="https://lanyard.example.com/u/TOKEN123.sig"' in rendered.html
    text_urls = re.findall(r"[^\s<>]+://[^\s<>]+", rendered.text)
    assert text_urls and all(url.startswith(("https://", "http://")) for url in text_urls)
    assert "Unsubscribe: https://lanyard.example.com/u/TOKEN123.sig" in rendered.text


def test_a_crowd_is_counted_not_listed(renderer):
    rendered = renderer.render(SAMPLES["crowd"]())
    assert rendered.html.count('class="avatar"') == 16  # 8 speakers and 8 attendees shown
    assert rendered.html.count("/people/") == 16
    assert ">and 4 more</span>" in rendered.html and ">and 22 more</span>" in rendered.html
    lines = rendered.text.splitlines()
    speaking = lines[lines.index("Speaking:") + 1:lines.index("Attending:")]
    assert speaking[0] == "- Speaker 10 <https://lanyard.example.com/people/person10/>"
    assert len(speaking) == 11 and speaking[-1] == "- and 2 more"  # ten named, one a line


class _NamedLinks(HTMLParser):
    """Every <a> with its href, inline style and text."""

    def __init__(self):
        super().__init__()
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append({**dict(attrs), "text": ""})

    def handle_data(self, data):
        if self.links and "end" not in self.links[-1]:
            self.links[-1]["text"] += data

    def handle_endtag(self, tag):
        if tag == "a":
            self.links[-1]["end"] = True


def test_every_name_links_to_the_persons_page_underlined(renderer):
    digest = samples.rich_digest()
    rendered = renderer.render(digest)
    parser = _NamedLinks()
    parser.feed(rendered.html)
    by_name = {link["text"]: link for link in parser.links if "/people/" in link["href"]}
    named = {p.name: p for item in (*digest.new_items, *digest.soon_items) for p in (*item.speakers, *item.attendees)}
    assert set(by_name) == set(named)
    for name, link in by_name.items():
        assert link["href"] == f"https://lanyard.example.com/people/{named[name].handle}/"
        # Inline, so it holds where <style> is stripped: an underline, not colour alone.
        assert "text-decoration:underline" in link["style"].replace(" ", ""), link
    # The hostile names are escaped inside their links too.
    hostile = renderer.render(samples.hostile_digest()).html
    assert "&lt;script&gt;" in hostile and '">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Mallory' in hostile


def test_an_empty_digest_is_refused(renderer):
    with pytest.raises(ValueError, match="empty"):
        renderer.render(make_digest())


def test_from_settings_uses_the_base_url(make_settings):
    renderer = Renderer.from_settings(make_settings(base_url="https://events.example.org/"))
    assert 'href="https://events.example.org"' in renderer.render(samples.single_digest()).html


LONG = "Performance Forum Buenos Aires 2026"


@pytest.mark.parametrize(
    ("digest", "subject"),
    [
        # The example: only Frank goes to Buenos Aires; the others are elsewhere.
        (
            make_digest(
                [
                    DigestItem(event(1, LONG), speakers=(), attendees=(person(7, "Frank Muller"),)),
                    DigestItem(event(2, "EuroPython"), speakers=(), attendees=(ADA, ALAN, GRACE)),
                ],
                more_count=4,
            ),
            "Frank Muller is going to Performance Forum Buenos Aires 2026 (+5 more)",
        ),
        (
            make_digest(
                [
                    DigestItem(
                        event(1, LONG),
                        speakers=(),
                        attendees=(person(7, "Frank Muller"), person(8, "Bartholomew Featherstonehaugh")),
                    )
                ],
                more_count=12,
            ),
            "Frank Muller and 1 other are going to Performance Forum… (+12 more)",
        ),
        (
            make_digest([DigestItem(event(1, "x" * 200), speakers=(person(9, "y" * 100),), attendees=())]),
            "y" * 69 + "…",
        ),
    ],
)
def test_long_subjects_shorten_honestly(renderer, digest, subject):
    assert renderer.render(digest).subject == subject
    assert len(subject) <= 70


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_preheader_says_what_is_new_and_stays_hidden(renderer, name):
    digest = SAMPLES[name]()
    html = renderer.render(digest).html
    root = lxml.html.document_fromstring(html)
    first = root.body[0]
    assert first.tag == "div" and "display:none" in first.get("style", "").replace(" ", "")
    text = first.text_content()
    assert len(text) <= 140
    first_event = (digest.new_items or digest.soon_items)[0].event.name
    assert " ".join(first_event.split()) in text
    if digest.new_items:
        total = len(digest.new_items) + digest.more_count
        assert text.startswith(f"{total} new event")


def test_the_rich_preheader_counts_what_it_leaves_out(renderer):
    html = renderer.render(samples.rich_digest()).html
    assert (
        "5 new events from people you follow: PyCon US (5–7 Mar 2026), EuroPython (22–24 Mar 2026), "
        "DjangoCon Europe (Sat 11 Apr 2026) and 2 more"
        in html
    )
