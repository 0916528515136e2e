"""The one function that makes every slug and handle the site's URLs carry.

A slug is ASCII (names in any script are transliterated by ``anyascii``), lowercase
letters and digits in hyphen-separated words: exactly what :data:`SLUG_PATTERN`
matches, the pattern the site's URL converter uses. Uniqueness and stability come from
the row's id: ``make_slug("PostgreSQL Forum São Paulo 2027", 129)`` is
``postgresql-forum-sao-paulo-2027-129`` however many other rows share the name, and
renaming the row later does not have to change it.
"""

from __future__ import annotations

import re

from anyascii import anyascii

# One word of a slug, then more words each after one hyphen. No leading, trailing or
# doubled hyphens, no capitals, no underscores: one spelling per slug.
SLUG_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_SLUG = re.compile(SLUG_PATTERN)

# Symbols that carry meaning in names ("C++", "C#", "R&D") rather than separate words.
_SYMBOL_WORDS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}
_SYMBOLS = re.compile("[" + re.escape("".join(_SYMBOL_WORDS)) + "]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
FALLBACK = "x"  # the slug of a name with nothing transliterable in it (emoji only, say)


def is_slug(value: str) -> bool:
    """True for exactly what :func:`make_slug` and :func:`slug_words` make."""
    return _SLUG.fullmatch(value) is not None


def slug_words(text: str, *, max_length: int = 200) -> str:
    """``text`` as slug words, without an id: ``"Zoë Ünal-Łukasiewicz"`` → ``zoe-unal-lukasiewicz``.
    Unique only where ``text`` is (topic names, say); never empty."""
    ascii_text = anyascii(_SYMBOLS.sub(lambda m: _SYMBOL_WORDS[m.group()], text)).lower()
    words = _NOT_WORD.sub("-", ascii_text).strip("-")
    if len(words) > max_length:
        words = words[:max_length].rstrip("-")
    return words or FALLBACK


def make_slug(text: str, pk: int, *, max_length: int = 200) -> str:
    """The slug of row ``pk`` named ``text``: its words, then ``-<pk>``, within ``max_length``
    (the words are cut, never the id). Unique because the id is."""
    if pk < 0:
        raise ValueError(f"a slug's id must not be negative, not {pk}")
    suffix = f"-{pk}"
    if len(suffix) + 1 > max_length:
        raise ValueError(f"max_length {max_length} leaves no room for id {pk}")
    return slug_words(text, max_length=max_length - len(suffix)) + suffix
