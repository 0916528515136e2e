"""Which stored URLs may become links: ``http`` and ``https`` with a host, nothing else.

A ``javascript:`` or ``data:`` URL saved through the ORM, a bulk load or an old row
bypasses form validation; every place that renders a stored URL as a link asks
:func:`web_url` first, and the models validate new values with the same rule.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


@lru_cache(maxsize=8192)  # pages show the same few thousand avatars and links; urlsplit is most of a call
def web_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None."""
    if not value:
        return None
    text = value.strip()
    # Control characters and whitespace inside a URL are how "java\tscript:" slips past
    # naive checks; browsers strip them, so a URL holding any is refused outright.
    if _CONTROL_OR_SPACE.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return text
