"""Render a :class:`~digest.values.Digest` into a subject, a plain-text part and an HTML part.

Templates live in the ``templates_email`` package (read with importlib.resources, so an
installed wheel works). The CSS in ``digest.css`` is inlined with premailer into the
*template source* when a template loads: Jinja constructs are swapped for inert
placeholders, premailer styles the markup, the placeholders are swapped back, and Jinja
compiles the result. Every email is then a bare Jinja render; premailer never runs per
email. This is equivalent to running premailer on each rendered email as long as the
styled elements are literal markup in the templates and selectors do not reach across
templates (tests/digest/test_render.py proves it on sample digests).

Build one :class:`Renderer` per process: loading compiles and inlines every template.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from premailer import Premailer

from digest.config import Settings
from digest.values import Digest, DigestItem, EventCard, PersonCard

TEMPLATE_PACKAGE = "templates_email"
CSS_FILE = "digest.css"
HTML_TEMPLATE = "digest.html"
TEXT_TEMPLATE = "digest.txt"
SUBJECT_TEMPLATE = "subject.txt"
MAX_PEOPLE_SHOWN = 8  # per role and event in the HTML part; the rest are counted
MAX_NAMES_LISTED = 10  # per line in the plain-text part

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

    def __init__(self, *, inline_css: bool):
        self._root = importlib.resources.files(TEMPLATE_PACKAGE)
        self.css = (self._root / CSS_FILE).read_text("utf-8")
        self._inline_css = inline_css

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        try:
            source = (self._root / template).read_text("utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        if self._inline_css and template.endswith(".html"):
            source = inline_template_css(source, self.css)
        return source, None, lambda: True


class Renderer:
    """Subject, text and HTML of digests; build once per process (it compiles the templates).

    ``inline_css=False`` loads the HTML templates without their CSS: the naive baseline
    of the benchmark and the equivalence test run premailer on each rendered email instead.
    """

    def __init__(self, *, base_url: str, inline_css: bool = True):
        self.base_url = base_url.rstrip("/")
        loader = _EmailTemplateLoader(inline_css=inline_css)
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
        self.environment.filters.update(when=when, names=names, people_line=people_line)
        self.html_template = self.environment.get_template(HTML_TEMPLATE)
        self.text_template = self.environment.get_template(TEXT_TEMPLATE)
        self.subject_template = self.environment.get_template(SUBJECT_TEMPLATE)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Renderer:
        return cls(base_url=settings.base_url, **options)

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
            "base_url": self.base_url,
            "max_people": MAX_PEOPLE_SHOWN,
        }

    def subject(self, digest: Digest) -> str:
        # One line, whatever the names hold: it becomes a header.
        return " ".join(self.subject_template.render(subject_context(digest)).split())

    def render(self, digest: Digest) -> RenderedDigest:
        if not digest.new_items and not digest.soon_items:
            raise ValueError(
                f"digest for subscription {digest.subscription_id} is empty; an empty digest is never sent"
            )
        subject = self.subject(digest)
        context = self.context(digest, subject)
        return RenderedDigest(
            subject=subject,
            text=self.text_template.render(context),
            html=self.html_template.render(context),
        )


def subject_context(digest: Digest) -> dict:
    """The subject's parts: who (the first followed person, how many others), where, how many more."""
    items = digest.new_items or digest.soon_items
    if digest.new_items:
        # Distinct followed people in order of appearance (a person's name is the same everywhere).
        people = {
            person.id: person.name
            for item in digest.new_items
            for group in (item.speakers, item.attendees)
            for person in group
        }
        more_events = len(digest.new_items) - 1 + digest.more_count
    else:
        people = {}
        more_events = len(items) - 1
    names_in_order = list(people.values())
    first = items[0]
    verb = ("is speaking at" if first.speakers else "is going to") if len(names_in_order) == 1 else "are going to"
    return {
        "lead": names_in_order[0] if names_in_order else "",
        "second": names_in_order[1] if len(names_in_order) > 1 else "",
        "others": len(names_in_order) - 1,
        "verb": verb,
        "first_event": first.event.name,
        "more_events": more_events,
    }


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


def names(people: Iterable[PersonCard], limit: int = MAX_NAMES_LISTED) -> str:
    """``Ada, Alan and Grace``; beyond ``limit`` people, ``… and 5 more``."""
    listed = [person.name for person in people]
    if len(listed) > limit:
        return f"{', '.join(listed[:limit])} and {len(listed) - limit} more"
    if len(listed) > 1:
        return f"{', '.join(listed[:-1])} and {listed[-1]}"
    return listed[0] if listed else ""


def people_line(item: DigestItem) -> str:
    """One line on who is at an "also coming up" event."""
    if item.speakers and not item.attendees and len(item.speakers) == 1:
        return f"{item.speakers[0].name} is speaking"
    return f"with {names(item.speakers + item.attendees, limit=3)}"
