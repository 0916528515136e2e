"""Values of the coverage fetch (the stored words, kinds and statuses, are in digest/vocabulary.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FetchOutcome(StrEnum):
    """What one run of the fetch task did with a coverage row."""

    OK = "ok"
    NOT_MODIFIED = "not modified"
    RETRY = "retry"  # a temporary failure: the task tries again later
    FAILED = "failed"
    GONE = "gone"  # the row was deleted meanwhile


@dataclass(frozen=True)
class FetchResult:
    outcome: FetchOutcome
    reason: str = ""  # why it failed: a LinkFailure (failures.WORDS says it in words)
    refused: bool = False  # the link breaks a rule (address, scheme, port), as opposed to failing
    detail: str = ""  # the client's own words, for the task's log line


@dataclass(frozen=True)
class Metadata:
    """What a fetch found about a link; never any HTML from the network."""

    url: str  # after redirects
    title: str
    kind: str  # a CoverageKind value, "" when nothing suggested one
    provider: str = ""  # a digest/embeds.py provider name, with a valid embed_id
    embed_id: str = ""
    thumbnail_url: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # a conditional GET answered 304: nothing else is set
