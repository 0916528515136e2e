"""Paths of the site's pages that take no argument, one slug or one id, each URL name
reversed once per process: Django's ``reverse()`` (about 12 µs) for every link was a large part of pages and
API answers that show hundreds of links (profiled: the topics endpoint, the search page)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.http import RFC3986_SUBDELIMS

_SAFE = RFC3986_SUBDELIMS + "~:@"  # as reverse() quotes a path (its "/" aside: one segment here)
# Stand-ins for the one argument, reversed once per URL name and replaced after.
_SLUG_MARK, _INT_MARK = "lanyardlinkmark", 918273645546372819


def path_of(name: str) -> str:
    """``reverse(name)`` for a URL name taking no argument (every page's header and footer
    has fourteen)."""
    return _plain(get_script_prefix(), name)


@lru_cache(maxsize=64)
def _plain(prefix: str, name: str) -> str:
    return reverse(name)


def path_to(name: str, arg: str | int) -> str:
    """``reverse(name, args=[arg])`` for a URL name taking one slug or one id."""
    path, mark = _pattern(get_script_prefix(), name)
    return path.replace(mark, quote(str(arg), safe=_SAFE), 1)


@lru_cache(maxsize=64)
def _pattern(prefix: str, name: str) -> tuple[str, str]:
    """(path with a mark where the argument goes, the mark). ``prefix``: the script prefix
    it was reversed under (part of the path)."""
    try:
        return reverse(name, args=[_SLUG_MARK]), _SLUG_MARK
    except NoReverseMatch:
        return reverse(name, args=[_INT_MARK]), str(_INT_MARK)
