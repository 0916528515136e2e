"""The one way lanyard folds text for search, at index time and at query time, on every engine.

``fold("Zürich")`` is ``zurich``: any script transliterated to ASCII by ``anyascii`` (the
library that makes slugs), then lowercased. Both engines index the folded copies of a
document's text (``SearchDocument.folded_*``) and are asked with folded words
(``TextQuery.words``), so neither engine's own analysis decides what "the same letter"
means: "Zürich", "Zurich" and "ZURICH" are one word, and so are "Дмитрий" and "dmitriy".
The engines then only split words and stem (English) what they are given.
"""

from __future__ import annotations

import re

from anyascii import anyascii

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """``text`` transliterated to ASCII and lowercased; words keep their separators."""
    return anyascii(text).lower()


def folded_words(text: str) -> list[str]:
    """The words of ``text`` as a query sees them: folded, then split at anything not a-z or 0-9."""
    return _WORD.findall(fold(text))
