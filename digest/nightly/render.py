"""Render a :class:`~digest.values.Digest` into a subject, a plain-text part and an HTML part.

Templates live in the ``templates_email`` package (read with importlib.resources, so an
installed wheel works). The CSS in ``digest.css`` is inlined with premailer into the
*template source* when a template loads: Jinja constructs are swapped for inert
placeholders, premailer styles the markup, the placeholders are swapped back, and Jinja
compiles the result. Every email is then a bare Jinja render; premailer never runs per
email. This is equivalent to running premailer on each rendered email as long as the
styled elements are literal markup in the templates and selectors do not reach across
templates (tests/digest/nightly/test_render.py proves it on sample digests).

Build one :class:`Renderer` per process: loading compiles and inlines every template.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from digest.config import Settings
from digest.nightly.inlined_cache import inlined
from digest.values import Digest, DigestItem, EventCard, PersonCard

TEMPLATE_PACKAGE = "templates_email"
CSS_FILE = "digest.css"
HTML_TEMPLATE = "digest.html"
TEXT_TEMPLATE = "digest.txt"
TEMPLATE_CACHE = "cache"  # under the data directory: the inlined templates (digest/nightly/inlined_cache.py)
MAX_SUBJECT = 70  # characters: what inboxes show of a subject before cutting it
MAX_PREHEADER = 140  # characters of the hidden preview text
MAX_PEOPLE_SHOWN = 8  # per role and event in the HTML part; the rest are counted
# Gmail hides what follows 102 kB of HTML, the unsubscribe link included. Each person shown is
# a linked name (up to ~300 bytes with a long handle), so an HTML part over this budget is
# rendered again naming fewer people per role and event, the rest counted, in both parts.
HTML_BUDGET = 96 * 1024
FEWER_PEOPLE = (6, 4, 2, 1)
MAX_NAMES_LISTED = 10  # per role and event in the plain-text part, one a line
MAX_SOON_NAMED = 3  # people named on an "also coming up" line

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Jinja expressions, statements and comments, hidden from premailer while it works.
_JINJA_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_PLACEHOLDER = re.compile(r"<!--lyjinja(\d+)x-->|lyjinja(\d+)x")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_CLASS_ATTRIBUTE = re.compile(r' class="([^"]*)"')


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def premail(html: str, css: str) -> str:
    """premailer with lanyard's options: ``css`` inlined into ``html``, links left alone.

    Once the styles are inline, a class only matters to the rules left in ``<style>``
    (``@media``); every other class attribute is dropped, to keep emails small (Gmail
    clips messages over 102 kB).
    """
    from premailer import Premailer  # noqa: PLC0415 -- a process with kept templates never imports it (0.1 s)

    html = Premailer(
        html,
        css_text=css,
        disable_link_rewrites=True,
        cssutils_logging_level=logging.CRITICAL,
        allow_network=False,
    ).transform()
    still_used = set(_CLASS_SELECTOR.findall(" ".join(_STYLE_BLOCK.findall(html))))

    def keep_used(match: re.Match) -> str:
        names = [name for name in match.group(1).split() if name in still_used]
        return f' class="{" ".join(names)}"' if names else ""

    return _CLASS_ATTRIBUTE.sub(keep_used, html)


def inline_template_css(source: str, css: str) -> str:
    """``css`` inlined into the Jinja template ``source``, its Jinja syntax untouched.

    ``{{ … }}`` becomes a bare word (safe in text and attribute values); statements and
    comments become HTML comments (safe between elements). A template that puts a
    statement inside a tag, or an expression inside a style attribute, cannot survive
    this and is refused with a :class:`jinja2.TemplateError` when it loads.
    """
    hidden: list[str] = []

    def hide(match: re.Match) -> str:
        hidden.append(match.group(0))
        token = f"lyjinja{len(hidden) - 1}x"
        return token if match.group(0).startswith("{{") else f"<!--{token}-->"

    masked = _JINJA_SYNTAX.sub(hide, source)
    if re.search(r"<html[\s>]", masked, re.I):
        styled = premail(masked, css)
    else:
        # A child template is a fragment: style it inside a throwaway document.
        document = premail(f"<html><head></head><body>{masked}</body></html>", css)
        body = _BODY.search(document)
        assert body is not None  # premailer keeps the <body> it was given
        styled = body.group(1).strip()

    restored: list[int] = []

    def restore(match: re.Match) -> str:
        index = int(match.group(1) or match.group(2))
        # A statement must come back as the comment that hid it, not as a bare word.
        if (match.group(1) is None) == hidden[index].startswith("{{"):
            restored.append(index)
        return hidden[index]

    result = _PLACEHOLDER.sub(restore, styled)
    if sorted(restored) != list(range(len(hidden))):
        lost = sorted(set(range(len(hidden))) - set(restored))
        raise jinja2.TemplateError(
            f"CSS inlining lost Jinja syntax {[hidden[i] for i in lost]!r}; keep statements between tags "
            "and expressions out of style attributes"
        )
    return result


class _EmailTemplateLoader(jinja2.BaseLoader):
    """Templates from the ``templates_email`` package; HTML ones get the CSS inlined on load."""

    def __init__(self, *, inline_css: bool, cache_dir: Path | None = None):
        self._root = importlib.resources.files(TEMPLATE_PACKAGE)
        self.css = (self._root / CSS_FILE).read_text("utf-8")
        self._inline_css = inline_css
        self._cache_dir = cache_dir  # where inlined templates are kept for the next process

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        try:
            source = (self._root / template).read_text("utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        if self._inline_css and template.endswith(".html"):
            source = inlined(self._cache_dir, source, self.css, inline_template_css)
        return source, None, lambda: True


class Renderer:
    """Subject, text and HTML of digests; build once per process (it compiles the templates).

    ``inline_css=False`` loads the HTML templates without their CSS: the naive baseline
    of the benchmark and the equivalence test run premailer on each rendered email instead.
    """

    def __init__(self, *, base_url: str, inline_css: bool = True, cache_dir: Path | None = None):
        self.base_url = base_url.rstrip("/")
        loader = _EmailTemplateLoader(inline_css=inline_css, cache_dir=cache_dir)
        self.css = loader.css
        self.environment = jinja2.Environment(
            loader=loader,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
        )
        # Filters, not globals: compiled templates call filters directly, globals through Context.call.
        self.environment.filters.update(
            when=when, initials=initials, listed=listed, soon_people=soon_people, person_text=person_text
        )
        self.html_template = self.environment.get_template(HTML_TEMPLATE)
        self.text_template = self.environment.get_template(TEXT_TEMPLATE)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Renderer:
        return cls(base_url=settings.site.base_url, cache_dir=settings.data_dir / TEMPLATE_CACHE, **options)

    def context(self, digest: Digest, subject: str) -> dict:
        """What the text and HTML templates see."""
        return {
            "subject": subject,
            "recipient": digest.recipient,
            "list_name": digest.list_name,
            "new_items": digest.new_items,
            "new_total": len(digest.new_items) + digest.more_count,
            "more_count": digest.more_count,
            "soon_items": digest.soon_items,
            "calendar_url": digest.calendar_url,
            "unsubscribe_url": digest.unsubscribe_url,
            "manage_url": digest.manage_url,
            "feed_url": digest.feed_url,
            "sender_name": digest.sender_name,
            "postal_address": digest.postal_address,
            "preheader": preheader(digest),
            "base_url": self.base_url,
            "max_people": MAX_PEOPLE_SHOWN,
            "max_names": MAX_NAMES_LISTED,
        }

    @staticmethod
    def subject(digest: Digest) -> str:
        return subject_line(digest)

    def render(self, digest: Digest) -> RenderedDigest:
        if not digest.new_items and not digest.soon_items:
            raise ValueError(
                f"digest for subscription {digest.subscription_id} is empty; an empty digest is never sent"
            )
        subject = self.subject(digest)
        context = self.context(digest, subject)
        html = self.html_template.render(context)
        for shown in FEWER_PEOPLE:
            if len(html.encode()) <= HTML_BUDGET:
                break
            # The text part names as few, so the two parts still say the same.
            context = {**context, "max_people": shown, "max_names": shown}
            html = self.html_template.render(context)
        return RenderedDigest(subject=subject, text=self.text_template.render(context), html=html)


def subject_line(digest: Digest, limit: int = MAX_SUBJECT) -> str:
    """Who goes where, honestly, in at most ``limit`` characters.

    Only the people at the first event are counted for it ("Ada and 2 others are going
    to PyCon" means three people go to PyCon); the other events are a separate count
    in brackets. Longer than ``limit``: fewer names, a shorter count, then the event's
    name cut with an ellipsis. One line, whatever the names hold (it becomes a header).
    """
    if digest.new_items:
        first = digest.new_items[0]
        more = len(digest.new_items) - 1 + digest.more_count
        people = list({p.id: _one_line(p.name) for p in (*first.speakers, *first.attendees)}.values())
        speaking = bool(first.speakers) and not first.attendees
        verb = (
            ("is speaking at" if speaking else "is going to")
            if len(people) == 1
            else ("are speaking at" if speaking else "are going to")
        )
        if len(people) == 1:
            who = [people[0]]
        elif len(people) == 2:
            who = [f"{people[0]} and {people[1]}", f"{people[0]} and 1 other"]
        else:
            who = [f"{people[0]} and {len(people) - 1} others"]
        if not people:  # the followed people were deleted meanwhile: say where, not who
            who, verb = ["New"], "from people you follow:"
        heads = [f"{w} {verb} " for w in who]
    else:
        first = digest.soon_items[0]
        more = len(digest.soon_items) - 1
        heads = ["Coming up this week: "]
    tails = [f" (+{more} more {'event' if more == 1 else 'events'})", f" (+{more} more)"] if more else [""]
    name = _one_line(first.event.name)
    for head in heads:
        for tail in tails:
            if len(head) + len(name) + len(tail) <= limit:
                return head + name + tail
    head, tail = heads[-1], tails[-1]
    room = limit - len(head) - len(tail) - 1
    if room >= 12:
        cut = name[:room]
        if " " in cut and len(cut.rsplit(" ", 1)[0]) >= room * 0.6:  # at a word's end when little is lost
            cut = cut.rsplit(" ", 1)[0]
        return head + cut.rstrip() + "…" + tail
    subject = head + name + tail
    return subject[: limit - 1].rstrip() + "…"


def preheader(digest: Digest, limit: int = MAX_PREHEADER) -> str:
    """The hidden preview text after the subject in an inbox: what is new, by event name."""
    if digest.new_items:
        total = len(digest.new_items) + digest.more_count
        lead = f"{total} new {'event' if total == 1 else 'events'} from people you follow: "
        items = digest.new_items
        others = digest.more_count
    else:
        lead, items, others = "Coming up this week: ", digest.soon_items, 0
    shown: list[str] = []
    for index, item in enumerate(items):
        left = len(items) - index - 1 + others
        candidate = ", ".join([*shown, f"{_one_line(item.event.name)} ({when(item.event)})"])
        ending = f" and {left} more" if left else "."
        if shown and len(lead) + len(candidate) + len(ending) > limit:
            return lead + ", ".join(shown) + f" and {left + 1} more"
        shown.append(f"{_one_line(item.event.name)} ({when(item.event)})")
    return lead + ", ".join(shown) + (f" and {others} more" if others else ".")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def when(event: EventCard) -> str:
    """The event's dates, e.g. ``Wed 14 May 2025`` or ``14–18 May 2025``."""
    return _date_range(event.start_date, event.end_date)


@lru_cache(maxsize=4096)
def _date_range(start: dt.date, end: dt.date) -> str:
    if end <= start:
        return f"{_WEEKDAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]} {start.year}"
    if start.year != end.year:
        return f"{start.day} {_MONTHS[start.month - 1]} {start.year} – {end.day} {_MONTHS[end.month - 1]} {end.year}"
    if start.month != end.month:
        return f"{start.day} {_MONTHS[start.month - 1]} – {end.day} {_MONTHS[end.month - 1]} {end.year}"
    return f"{start.day}–{end.day} {_MONTHS[end.month - 1]} {end.year}"


def listed(people: Sequence[PersonCard], limit: int) -> list[tuple[PersonCard, str]]:
    """The first ``limit`` people, each with the words after it: ``Ada, Alan and 3 more``.

    The templates link each name and write the words after it, so a list of linked names
    reads as a sentence in both parts.
    """
    shown = list(people[:limit])
    rest = len(people) - len(shown)
    pairs: list[tuple[PersonCard, str]] = []
    for index, person in enumerate(shown):
        left = len(shown) - index - 1
        if left == 0:
            after = f" and {rest} more" if rest else ""
        elif left == 1 and not rest:
            after = " and "
        else:
            after = ", "
        pairs.append((person, after))
    return pairs


def initials(person: PersonCard) -> str:
    """The avatar that needs no image: ``Ada Lovelace`` → ``AL`` (first and last word's first letters)."""
    words = [w for w in person.name.split() if w[0].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def soon_people(item: DigestItem) -> tuple[str, list[tuple[PersonCard, str]], str]:
    """Who is at an "also coming up" event, as words before, listed people, words after:
    ``Ada is speaking`` or ``with Ada, Alan and 3 more``."""
    if item.speakers and not item.attendees and len(item.speakers) == 1:
        return "", listed(item.speakers, 1), " is speaking"
    return "with ", listed(item.speakers + item.attendees, MAX_SOON_NAMED), ""


def person_text(person: PersonCard) -> str:
    """A name in the plain-text part with its page's address, delimited as RFC 3986 (appendix C) suggests."""
    return f"{person.name} <{person.url}>"
