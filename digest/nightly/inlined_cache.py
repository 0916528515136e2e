"""CSS-inlined email templates kept on disk, so that a new process (a worker of
``lanyard digest run --processes N``, a Celery worker, a preview) does not run premailer
again on templates it has seen: inlining took 0.32 s of the 1.1 s a worker process spent
getting ready (measured), while reading the kept result takes well under a millisecond.

An entry is named by a hash of everything the result depends on (the template's source,
the CSS, premailer's and cssutils' versions), so a change of any of them misses and
writes a new entry; old entries are a few kilobytes each and never read again. Writes go
through a temporary file and a rename, so processes starting together never read half an
entry. A directory that cannot be written only means inlining again each time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

FORMAT = "1"  # bump when the inlining itself changes (digest/nightly/render.py inline_template_css)


@cache
def _versions() -> str:
    found = []
    for package in ("premailer", "cssutils"):
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=?")
    return ";".join(found)


def entry_path(directory: Path, source: str, css: str) -> Path:
    digest = hashlib.sha256("\0".join((FORMAT, _versions(), css, source)).encode()).hexdigest()
    return directory / f"email-template-{digest[:40]}.html"


def inlined(directory: Path | None, source: str, css: str, inline: Callable[[str, str], str]) -> str:
    """``inline(source, css)``, from ``directory`` when an earlier process kept it there."""
    if directory is None:
        return inline(source, css)
    path = entry_path(directory, source, css)
    try:
        return path.read_text("utf-8")
    except OSError:
        pass
    result = inline(source, css)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".email-template-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(result)
        os.replace(temporary, path)
    except OSError:
        pass  # not kept: the next process inlines again
    return result
