"""The graph's change log: which keys graph edits touched, so a reader can keep graph
sets between requests and drop only those that changed (the site's calendar keeps the
event sets of the thousands of people a member follows; reading them all again was
most of its time).

Every :meth:`Graph.apply <digest.graph.store.Graph.apply>` adds one entry in the same
script as its edits: the next number of ``<prefix>graph:changes_seq`` and the key
suffixes it touched, in the sorted set ``<prefix>graph:changes`` (the last
:data:`CHANGES_KEPT` entries). A reader remembers the number it has seen; one call
(:meth:`Graph.changes_since <digest.graph.store.Graph.changes_since>`) returns the live
generation and the suffixes touched since. A rebuild is a new generation, which the
reader sees in the same answer. An edit of more than :data:`TOUCHED_MAX` keys is logged as
"anything". When the entries it missed are gone (trimmed, or Redis
was emptied and the counter began again) or too many, the answer says "anything may have
changed" and the reader starts over.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.stores.keys import GraphKeys

CHANGES_KEPT = 10_000  # entries in the log: a reader more than this far behind starts over
CHANGES_READ = 1_000  # past this many entries since a reader's last look, starting over is cheaper
# Past this many keys an edit's entry says ANYTHING instead (a big event moved touches every
# attendee's event set): entries stay small, and readers start over.
TOUCHED_MAX = 200
ANYTHING = "*"


@dataclass(frozen=True)
class Changes:
    """The answer to "what changed since ``since``": the live generation's keys, the
    number to ask from next time, and the key suffixes touched (``None``: anything may
    have changed, forget everything)."""

    keys: GraphKeys
    seq: int
    touched: frozenset[str] | None


def changes_from(keys: GraphKeys, since: int, seq: int, entries: list[bytes]) -> Changes:
    """The reader's view of graph_changes.lua's answer."""
    if since < 0 or seq < since or (seq > since and len(entries) != seq - since):
        return Changes(keys, seq, None)
    touched = frozenset(
        suffix for entry in entries for suffix in entry.decode().partition("|")[2].split(",") if suffix
    )
    return Changes(keys, seq, None if ANYTHING in touched else touched)
