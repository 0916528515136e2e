"""Highlighted snippets of a search hit's text, the same whichever engine found it.

The engines stem ("talks" finds "talk"), so a word of the text is marked when it and a
query word share a prefix of at least four letters (or are equal when shorter). A
snippet is a list of (text, marked) parts; the template escapes each and wraps the
marked ones in ``<mark>``, so no markup from the index ever reaches a page.
"""

from __future__ import annotations

import re

from digest.search.folding import fold

_WORD = re.compile(r"\w+")
STEM = 4  # letters two words must share to count as one word's forms


def _matches(word: str, query_words: list[str]) -> bool:
    lower = fold(word)  # the query's words are folded: "Zürich" is marked for "zurich"
    for query in query_words:
        if lower == query:
            return True
        common = min(len(lower), len(query))
        if common >= STEM and lower[:common] == query[:common]:
            return True
    return False


def snippet(text: str, query_words: list[str], *, width: int = 180) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``text`` around its first matching word, in parts."""
    text = " ".join(text.split())
    if not text:
        return []
    words = [m for m in _WORD.finditer(text) if _matches(m.group(), query_words)] if query_words else []
    start = 0
    if words and words[0].start() > width // 3:
        start = text.rfind(" ", 0, words[0].start() - width // 3) + 1
    end = len(text) if len(text) - start <= width else max(text.rfind(" ", start, start + width), start + width // 2)
    parts: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    position = start
    for match in words:
        if match.start() < start:
            continue
        if match.end() > end:
            break
        if match.start() > position:
            parts.append((text[position:match.start()], False))
        parts.append((match.group(), True))
        position = match.end()
    if position < end:
        parts.append((text[position:end], False))
    if end < len(text):
        parts.append(("…", False))
    return parts
