"""The tantivy index's schema, and a search document as a tantivy document.

Kept apart from the engine (``digest/search/tantivy_index.py``): what is stored and how
is one thing to read, how the index directory is kept and searched another.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence

import tantivy

from digest.search.documents import SearchDocument


def build_schema() -> tantivy.Schema:
    raw = {"tokenizer_name": "raw"}
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, **raw)
    builder.add_text_field("type", stored=True, fast=True, **raw)
    builder.add_integer_field("pk", stored=True, indexed=True, fast=True)
    # Shown as stored; searched through the folded copies below (digest.search.folding).
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("title_folded", stored=False, tokenizer_name="en_stem")
    # Everything a user might type, folded, in one analysed field (Solr: the same field, folded by lanyard).
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("tags", stored=False, tokenizer_name="en_stem")  # an event's topic names, folded
    builder.add_text_field("handle", stored=True, **raw)
    builder.add_text_field("kind", stored=True, fast=True, **raw)
    builder.add_text_field("topics", stored=True, fast=True, **raw)
    builder.add_text_field("city", stored=True, fast=True, **raw)
    builder.add_text_field("country", stored=True, **raw)
    builder.add_date_field("start_date", stored=True, indexed=True, fast=True)
    builder.add_date_field("end_date", stored=True, indexed=True, fast=True)
    builder.add_integer_field("sort_key", indexed=False, fast=True)
    builder.add_integer_field("event_id", stored=True, indexed=True)
    builder.add_integer_field("session_id", stored=True, indexed=True)
    builder.add_integer_field("speaker_ids", stored=False, indexed=True, fast=True)  # the co-speaker facet
    # The OR query's field. Decimal strings, not integers: tantivy's term dictionary
    # finds 2,048 short strings about twice as fast as 2,048 eight-byte integers
    # (bench/search.py); no positions or frequencies, it only filters.
    builder.add_text_field("people_ids", stored=False, tokenizer_name="raw", index_option="basic")
    # Who is at an event, for the friend-events strategy, as one stored value:
    # int64s [number of attendees, attendees…, speakers…]. One value decodes far faster
    # than thousands of stored integers.
    builder.add_bytes_field("people", stored=True)
    builder.add_text_field("fingerprint", stored=True, **raw)
    return builder.build()


SCHEMA = build_schema()
# Bumped whenever build_schema() changes: an index made by another version is refused
# with a message to rebuild, rather than answering wrongly.
SCHEMA_VERSION = "4"
SCHEMA_FILE = "lanyard-schema-version"


def moment(day: dt.date) -> dt.datetime:
    """A date as tantivy stores dates: midnight UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def to_tantivy(document: SearchDocument) -> tantivy.Document:
    fields: dict = {
        "id": document.id,
        "type": document.type,
        "pk": document.pk,
        "title": document.title,
        "body": document.body,
        "title_folded": document.folded_title,
        "text": document.folded_text,
        "sort_key": document.sort_key,
        "fingerprint": document.fingerprint,
    }
    if document.type == "event":
        fields["people"] = pack_people(document.attendee_ids, document.speaker_ids)
    if document.topics:
        fields["tags"] = document.folded_tags
    fields.update(document.filter_fields())
    for name in ("topics", "speaker_ids"):
        if getattr(document, name):
            fields[name] = list(getattr(document, name))
    if document.people_ids:
        fields["people_ids"] = [str(p) for p in document.people_ids]
    for name in ("start_date", "end_date"):
        if getattr(document, name) is not None:
            fields[name] = moment(getattr(document, name))
    return tantivy.Document(**fields)


def pack_people(attendee_ids: Sequence[int], speaker_ids: Sequence[int]) -> bytes:
    return array("q", [len(attendee_ids), *attendee_ids, *speaker_ids]).tobytes()


def unpack_people(packed: bytes) -> tuple[frozenset[int], frozenset[int]]:
    values = array("q")
    values.frombytes(packed)
    count = values[0]
    return frozenset(values[1:count + 1]), frozenset(values[count + 1:])
