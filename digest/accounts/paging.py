"""Walking a follow list page by page: Link-header pages (GitHub, Mastodon) and cursor pages (Bluesky).

Pages are yielded one at a time, so a caller that stores each page before asking for
the next holds one page in memory, whatever the list's length. A next page already
seen (a loop), or one on another server, is an error; an empty page ends the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from digest.accounts.api import JsonApi, next_link, same_origin
from digest.accounts.errors import BadAnswer
from digest.accounts.values import Page

IdsOf = Callable[[Any, str], tuple[str, ...]]  # (the page's JSON, "page 3") -> the stable ids on it


def link_pages(api: JsonApi, first_url: str, *, token: str, etag: str, ids_of: IdsOf) -> Iterator[Page]:
    url, number, seen = first_url, 1, set()
    while url:
        seen.add(url)
        what = f"page {number}"
        answer = api.get(url, token=token, etag=etag if number == 1 else "", what=what)
        if answer.not_modified:
            yield Page((), number, etag=etag, not_modified=True)
            return
        ids = ids_of(answer.data, what)
        yield Page(ids, number, etag=answer.etag if number == 1 else "")
        following = next_link(answer.headers)
        if following in seen:
            raise BadAnswer(f"{api.name} ({what}) links back to a page it sent already: the pages loop")
        if following and not same_origin(following, first_url):
            raise BadAnswer(f"{api.name} ({what}) links the next page on another server")
        if not ids:
            return
        url, number = following, number + 1


def cursor_pages(api: JsonApi, url_for: Callable[[str], str], *, ids_of: IdsOf) -> Iterator[Page]:
    """Pages of an XRPC list: each answer's ``cursor`` asks for the next; none ends the list."""
    cursor, number, seen = "", 1, set()
    while True:
        what = f"page {number}"
        answer = api.get(url_for(cursor), what=what)
        ids = ids_of(answer.data, what)
        yield Page(ids, number)
        following = answer.data.get("cursor") if isinstance(answer.data, dict) else None
        if not following or not ids:
            return
        if not isinstance(following, str) or following in seen:
            raise BadAnswer(f"{api.name} ({what}) sent a cursor it sent already: the pages loop")
        seen.add(following)
        cursor, number = following, number + 1


def field_ids(items: Any, what: str, *, name: str, key: Callable[[dict], Any]) -> tuple[str, ...]:
    """The stable id of each account of a page (a JSON list of objects); BadAnswer on another shape."""
    if not isinstance(items, list):
        raise BadAnswer(f"{name} ({what}) did not send a list of accounts")
    ids = []
    for item in items:
        value = key(item) if isinstance(item, dict) else None
        if value is None or isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise BadAnswer(f"{name} ({what}) sent an account without its id")
        ids.append(str(value).strip()[:300])
    return tuple(ids)
