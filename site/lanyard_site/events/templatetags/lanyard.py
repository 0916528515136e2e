"""Template filters of the browsing pages: safe links, avatars' fallbacks, facet links,
search results' marked words.

Pieces shown many times on a page are filters or tags, not includes: an include costs a
template render each time (a search page showed about seventy)."""

from __future__ import annotations

import zlib
from html import escape as _e  # Django's escape() adds a lazy-string check to each call
from urllib.parse import urlencode

from django import template
from django.core.cache import caches
from django.template import Engine
from django.template.defaultfilters import date as date_filter
from django.template.loader import get_template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from digest.weburls import web_url as checked_web_url

from ...links import path_of, path_to
from ..selectors.rows import ROW_SECONDS, ROWS_CACHE, row_key

register = template.Library()
AVATAR_HUES = 8  # avatar fallback colours in the stylesheet (.hue-0 … .hue-7)


@register.simple_tag(name="path")
def path_tag(name: str, arg: str | int | None = None) -> str:
    """``{% url name %}`` or ``{% url name arg %}`` for the URL names of links.py, reversed
    once per process rather than on every use."""
    return path_of(name) if arg is None else path_to(name, arg)


ROW_TEMPLATE = "events/_event_row.html"  # what every visitor sees of a row, kept per process
ROW_EXTRA_TEMPLATE = "events/_event_row_extra.html"  # what a signed-in visitor sees besides


@register.simple_tag(takes_context=True)
def event_row(
    context, event, note: str = "", show_topics: bool = False, calendar_followed=(), calendar_more: int = 0
) -> SafeString:
    """One event in a list, its ``<li>``. The part every visitor sees is kept per process
    ("rows" cache) under the event's cache_version, so a list of fifty renders each row
    once, not on every request; the signed-in visitor's part (who they follow goes, the
    calendar's people) is rendered when there is one. A tag: as an include with a
    ``{% cache %}`` inside, a row cost a template render and a key made from resolved
    template variables, twice per row with the per-visitor include."""
    rows = caches[ROWS_CACHE]
    key = row_key(event, show_topics=bool(show_topics), note=note)
    shown = rows.get(key)
    if shown is None:
        shown = get_template(ROW_TEMPLATE).render({"event": event, "show_topics": show_topics, "note": note})
        rows.set(key, shown, ROW_SECONDS)
    extra = ""
    if calendar_followed:
        signed_in = context.get("signed_in")
        extra = _calendar_people(event, calendar_followed, calendar_more, getattr(signed_in, "person_id", None))
    if context.get("followed_going"):
        engine = context.template.engine if context.template is not None else Engine.get_default()
        # As {% include %} renders: the page's context, with the row's values on top.
        with context.push(event=event):
            extra += engine.get_template(ROW_EXTRA_TEMPLATE).render(context)
    return mark_safe(f'<li class="event-row">{shown}{extra}</div></li>')


def _calendar_people(event, followed, more: int, me: int | None) -> str:
    """The calendar row's followed people going: "Ada (speaking), Bob and 3 more you follow
    · Add to calendar". Written here rather than in a template: fifty rows a page of
    template renders and URL lookups were a third of the calendar's time (profiled)."""
    names = ", ".join(
        ("<strong>you</strong>" if person.pk == me
         else f'<a href="{_e(path_to("person", person.handle))}">{_e(person.name)}</a>')
        + (" (speaking)" if role == "speaking" else "")
        for person, role in followed
    )
    if more:
        names += f' <a class="muted" href="{_e(path_to("event", event.slug))}">and {more} more you follow</a>'
    ics = _e(path_to("event_ics", event.slug))
    return f'<p class="followed">{names} · <a class="ics" href="{ics}">Add to calendar</a></p>'


@register.filter
def web_url(value: str | None) -> str:
    """The URL when it may be a link (absolute http or https), else "": a stored
    ``javascript:`` URL is shown as text, never as a live link."""
    return checked_web_url(value) or ""


@register.filter
def initials(name: str) -> str:
    """Up to two letters for an avatar drawn without any remote image."""
    words = [word for word in (name or "").split() if word[:1].isalnum()]
    letters = "".join(word[0] for word in words[:1] + words[1:][-1:])
    return letters.upper() or "?"


@register.filter
def by_name(rows) -> list:
    """Rows (topics) by name, whatever the case: "django" beside "Django", not after "Zig"."""
    return sorted(rows, key=lambda row: (row.name.casefold(), row.pk))


@register.filter
def hue(value) -> str:
    """A stable colour class for an avatar fallback, from the person's handle."""
    return f"hue-{zlib.crc32(str(value).encode()) % AVATAR_HUES}"


# The search facet "type"'s values as the page names them (digest/search/documents.py KINDS).
KIND_LABELS = {"event": "Events", "session": "Talks", "person": "People", "coverage": "Coverage"}


@register.filter
def marked(parts) -> str:
    """Search text as its (text, marked) parts, the words that matched in ``<mark>``."""
    return mark_safe("".join(f"<mark>{_e(text)}</mark>" if hit else _e(text) for text, hit in parts))


@register.filter
def dates(event) -> str:
    """An event's dates as every page shows them: "Mon 1 Jun 2026", "Mon 1 – Wed 3 Jun 2026",
    "Sat 30 May – Mon 1 Jun 2026", or with both years when they differ."""
    start, end = event.start_date, event.end_date
    if start == end:
        return date_filter(start, "D j M Y")
    if start.year != end.year:
        first = "D j M Y"
    elif start.month != end.month:
        first = "D j M"
    else:
        first = "D j"
    return f"{date_filter(start, first)} – {date_filter(end, 'D j M Y')}"


@register.simple_tag
def search_result(result) -> SafeString:
    """One search result's ``<li>``. A tag building its HTML with the standard library's
    escape, rather than an include with ``{% url %}``s: the twenty on a page cost 1.2 ms of
    its 3.9 as an include (measured in process)."""
    obj, kind = result.obj, result.type
    if kind == "event":
        place = f" · {_e(obj.city)}, {_e(obj.country)}" if obj.city else ""
        head = _titled("Event", "", path_to("event", obj.slug), result)
        meta = f"{_e(dates(obj))}{place}"
    elif kind == "session":
        head = _titled("Talk", "", path_to("talk", obj.pk), result)
        meta = f'at <a href="{_e(path_to("event", obj.event.slug))}">{_e(obj.event.name)}</a>'
    elif kind == "person":
        head = _titled("Person", "", path_to("person", obj.handle), result)
        meta = f"@{_e(obj.handle)}"
    else:
        head = _titled(capfirst(obj.get_kind_display()), f" kind-{_e(obj.kind)}", web_url(obj.url), result,
                       outside=True)
        meta = _coverage_meta(obj)
    snippet = f'<p class="snippet">{marked(result.snippet)}</p>' if result.snippet else ""
    return mark_safe(f'<li class="result result-{_e(kind)}">{head}<p class="meta">{meta}</p>{snippet}</li>')


def _titled(kind: str, kind_class: str, href: str, result, outside: bool = False) -> str:
    label = f'<span class="kind{kind_class}">{_e(kind)}</span> '
    if not href:
        return f'{label}<span class="result-title">{marked(result.title)}</span>'
    rel = ' rel="nofollow noopener noreferrer"' if outside else ""
    return f'{label}<a class="result-title" href="{_e(href)}"{rel}>{marked(result.title)}</a>'


def _coverage_meta(coverage) -> str:
    """Where a piece of coverage belongs: its talk at its event, or its event."""
    if coverage.session:
        talk, event = coverage.session, coverage.session.event
        return (f'on <a href="{_e(path_to("talk", talk.pk))}">{_e(talk.title)}</a> '
                f'at <a href="{_e(path_to("event", event.slug))}">{_e(event.name)}</a>')
    if coverage.event:
        return f'on <a href="{_e(path_to("event", coverage.event.slug))}">{_e(coverage.event.name)}</a>'
    return ""


@register.filter
def facet_label(value: str, name: str) -> str:
    """A facet value as the page shows it: "Talks" for the type "session", "Past" for "past"."""
    if name == "type":
        return KIND_LABELS.get(value, value)
    return capfirst(value) if name == "when" else value


@register.simple_tag(takes_context=True)
def facet_url(context, name: str, value: str | None = None) -> str:
    """This page's query string with filter ``name`` set to ``value`` (removed when None)
    and back on the first page: a facet's link."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    params.pop(name, None)
    if value is not None:
        params[name] = value
    return "?" + params.urlencode() if params else "?"


@register.simple_tag(takes_context=True)
def facet(context, name: str, title: str, values, current: str, limit: int = 0) -> SafeString:
    """One search facet's ``<section>``: its first ``limit`` values (all when 0) and the
    one applied, each a link adding it, the applied one a link removing it. A tag: the
    four on a search page cost a fifth of it as includes (measured in process)."""
    if not values and not current:
        return mark_safe("")
    without = _e(facet_url(context, name))  # the query string once, not once a value
    joiner = "&amp;" if len(without) > 1 else ""
    items = []
    for number, (value, count) in enumerate(values, start=1):
        if limit and number > limit and value != current:
            continue
        label = f"{_e(facet_label(value, name))} <span class=\"count\">{_e(str(count))}</span>"
        if value == current:
            items.append(f'<li><a class="facet-on" aria-current="true" href="{without}">{label} '
                         '<span class="remove">× remove</span></a></li>')
        else:
            href = f"{without}{joiner}{_e(urlencode({name: value}))}"
            items.append(f'<li><a href="{href}">{label}</a></li>')
    return mark_safe(f'<section class="facet"><h2>{_e(title)}</h2><ul>{"".join(items)}</ul></section>')


@register.simple_tag
def avatar(person, size: str = "small") -> SafeString:
    """A person's avatar: initials on a colour from the handle (no remote image needed),
    with their https image, if any, laid over them (site.js removes one that fails).
    A tag rather than an include, its HTML built with the standard library's escape rather
    than format_html: people lists show dozens (a person page's chips were 17% of it)."""
    src = checked_web_url(person.avatar_url) or ""
    image = ""
    if src.startswith("https://"):
        image = f'<img src="{_e(src)}" alt="" loading="lazy" referrerpolicy="no-referrer">'
    return mark_safe(
        f'<span class="avatar {"large" if size == "large" else "small"} {hue(person.handle)}" aria-hidden="true">'
        f'<span class="initials">{_e(initials(person.name))}</span>{image}</span>'
    )


@register.simple_tag
def topic_options(topics, selected) -> str:
    """The ``<option>``s of a topic filter, ``selected`` (a topic, or None) marked. A tag
    rather than a template loop: a loop over the 150 choices of /events/'s filters was
    about 3 ms of every request to the page (profiled); this is a tenth of it."""
    return _options((topic.slug, topic.name, topic == selected) for topic in topics)


@register.simple_tag
def text_options(values, selected) -> str:
    """The ``<option>``s of a filter whose values are their labels (cities, countries)."""
    return _options((None, value, value == selected) for value in values)


def _options(choices) -> str:
    parts = []
    for value, label, chosen in choices:
        attrs = "" if value is None else f' value="{escape(value)}"'
        parts.append(f"<option{attrs}{' selected' if chosen else ''}>{escape(label)}</option>")
    return mark_safe("".join(parts))
