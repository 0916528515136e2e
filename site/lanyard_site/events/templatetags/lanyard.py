"""Template filters of the browsing pages: safe links, avatars' fallbacks, facet links,
search results' marked words.

Pieces shown many times on a page are filters or tags, not includes: an include costs a
template render each time (a search page showed about seventy)."""

from __future__ import annotations

import zlib

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from digest.weburls import web_url as checked_web_url

register = template.Library()
AVATAR_HUES = 8  # avatar fallback colours in the stylesheet (.hue-0 … .hue-7)


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
    return mark_safe("".join(f"<mark>{escape(text)}</mark>" if hit else escape(text) for text, hit in parts))


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


@register.simple_tag
def avatar(person, size: str = "small") -> str:
    """A person's avatar: initials on a colour from the handle (no remote image needed),
    with their https image, if any, laid over them (site.js removes one that fails).
    A tag rather than an include: people lists show dozens."""
    src = checked_web_url(person.avatar_url) or ""
    image = ""
    if src.startswith("https://"):
        image = format_html('<img src="{}" alt="" loading="lazy" referrerpolicy="no-referrer">', src)
    return format_html(
        '<span class="avatar {} {}" aria-hidden="true"><span class="initials">{}</span>{}</span>',
        "large" if size == "large" else "small", hue(person.handle), initials(person.name), image,
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
