"""Solr query construction as pure functions: the exact parameters of every request, and
the configset defining every field they use. (The contract suite, test_index.py, runs the
queries themselves on a standalone Solr and on a SolrCloud.)"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import digest.search
from digest.search import SearchDocument, TextQuery
from digest.search.solr_index import (
    fingerprint_params,
    people_at_params,
    people_params,
    solr_document,
    speaker_params,
    text_params,
)

CONF = Path(digest.search.__file__).parent / "solr" / "conf"
TODAY = dt.date(2026, 11, 28)


def test_text_query_with_every_filter():
    query = TextQuery("Python, (Berlin)!", types=("event", "session"), topic="Open Source", city="São Paulo",
                      when="upcoming", today=TODAY, offset=20, limit=10)
    assert text_params(query) == {
        # Every word required in one of the folded fields, the last also as a prefix; then the
        # shared bonuses as optional constant scores (tantivy's query, clause for clause).
        "q": "+(title_folded:python^2 text:python tags:python^3) "
             "+(title_folded:berlin^2 text:berlin tags:berlin^3 title_folded:berlin* text:berlin*) "
             "type:event^=3 type:session^=1.5 type:person^=1 type:coverage^=0.5 "
             "end_date:[2026-11-28T00:00:00Z TO *]^=2",
        "defType": "lucene",
        "q.op": "OR",
        "fq": [
            "{!terms f=type tag=type}event,session",
            "{!term f=topics tag=topic}Open Source",
            "{!term f=city tag=city}São Paulo",
            "{!tag=when}end_date:[2026-11-28T00:00:00Z TO *]",
        ],
        "fl": "id,type,pk,title,body",
        "sort": "score desc,id asc",
        "start": 20,
        "rows": 10,
        "facet": "true",
        "facet.mincount": 1,
        "facet.limit": -1,
        "facet.field": ["{!ex=type}type", "{!ex=topic}topics", "{!ex=city}city"],
        "facet.query": [
            "{!key=upcoming ex=when}end_date:[2026-11-28T00:00:00Z TO *]",
            "{!key=past ex=when}end_date:[* TO 2026-11-28T00:00:00Z}",
        ],
    }


def test_empty_text_matches_everything_without_edismax():
    params = text_params(TextQuery("  --  ", when="past", today=TODAY))
    assert params["q"] == "*:*"
    assert "defType" not in params
    assert params["fq"] == ["{!tag=when}end_date:[* TO 2026-11-28T00:00:00Z}"]
    assert "fq" not in text_params(TextQuery("", today=TODAY))


def test_people_query_is_one_terms_filter_sorted_by_date():
    params = people_params([3, 1, 2048], dt.date(2026, 12, 1), dt.date(2027, 3, 31), 50, 25)
    assert params == {
        "q": "*:*",
        "fq": [
            "type:event",
            "{!terms f=people_ids cache=false}3,1,2048",
            "start_date:[2026-12-01T00:00:00Z TO 2027-03-31T00:00:00Z]",
        ],
        "sort": "start_date asc,pk asc",
        "start": 50,
        "rows": 25,
        "fl": "pk,start_date",
    }
    # 2,048 ids stay one filter of one clause, whatever maxBooleanClauses says.
    big = people_params(range(1, 2049), TODAY, TODAY, 0, 10)
    assert big["fq"][1].count(",") == 2047


def test_who_is_at_events():
    assert people_at_params([7, 3]) == {
        "q": "*:*",
        "fq": ["type:event", "{!terms f=pk cache=false}7,3"],
        "rows": 2,
        "fl": "pk,attendee_ids,speaker_ids",
    }


def test_people_ids_must_be_integers():
    with pytest.raises(ValueError):
        people_params(["1) OR *:*"], TODAY, TODAY, 0, 10)


def test_co_speaker_facet():
    assert speaker_params(42) == {
        "q": "*:*",
        "fq": ["type:event", "speaker_ids:42"],
        "rows": 0,
        "facet": "true",
        "facet.field": "speaker_ids",
        "facet.limit": -1,
        "facet.mincount": 1,
    }


def test_fingerprints_page_with_a_cursor():
    assert fingerprint_params("AoE=") == {
        "q": "*:*",
        "fl": "id,fingerprint",
        "sort": "id asc",
        "rows": 5000,
        "cursorMark": "AoE=",
    }


def test_documents_as_solr_fields():
    event = SearchDocument(type="event", pk=7, title="PyCon", body="talks", topics=("Django", "Python"), city="Lisbon",
                           country="Portugal", start_date=dt.date(2026, 12, 1), end_date=dt.date(2026, 12, 3),
                           attendee_ids=(1, 2), speaker_ids=(3,))
    assert solr_document(event, 99) == {
        "id": "event:7", "type": "event", "pk": 7, "title": "PyCon", "body": "talks", "fingerprint": event.fingerprint,
        "generation": 99, "title_folded": "pycon", "text": ["pycon", "talks", "django", "python", "lisbon", "portugal"],
        "tags": ["django", "python"], "city": "Lisbon", "country": "Portugal", "topics": ["Django", "Python"],
        "attendee_ids": [1, 2], "speaker_ids": [3], "people_ids": [1, 2, 3],  # people_ids: events only
        "start_date": "2026-12-01T00:00:00Z", "end_date": "2026-12-03T00:00:00Z",
    }
    person = SearchDocument(type="person", pk=1, title="Ada", handle="ada")
    assert solr_document(person) == {
        "id": "person:1", "type": "person", "pk": 1, "title": "Ada", "body": "", "fingerprint": person.fingerprint,
        "generation": 0, "title_folded": "ada", "text": ["ada", "ada"], "handle": "ada",
    }


def _schema_fields() -> dict[str, dict]:
    root = ET.parse(CONF / "managed-schema.xml").getroot()
    return {f.get("name"): f.attrib for f in root.iter("field")}


def test_the_configset_defines_every_field_the_code_uses():
    fields = _schema_fields()
    full = SearchDocument(
        type="coverage",
        pk=1,
        title="t",
        body="b",
        handle="h",
        kind="video",
        topics=("x",),
        city="c",
        country="k",
        start_date=TODAY,
        end_date=TODAY,
        event_id=1,
        session_id=2,
        attendee_ids=(1,),
        speaker_ids=(2,),
    )
    written = set(solr_document(full))
    queried = set()
    for params in (text_params(TextQuery("x", types=("event",), topic="t", city="c", when="past", today=TODAY)),
                   people_params([1], TODAY, TODAY, 0, 1), people_at_params([1]), speaker_params(1)):
        text = repr(params)
        queried |= set(re.findall(r"\b([a-z_]+):", text)) | set(re.findall(r"f=([a-z_]+)", text))
        queried |= set(params.get("fl", "").split(",")) - {""}
        queried |= {part.split()[0] for part in params.get("sort", "").split(",") if part} - {"score"}
    queried.add("text")
    assert written | queried <= set(fields), (
        f"fields missing from the schema: {sorted((written | queried) - set(fields))}"
    )
    # What is faceted or sorted on needs docValues (the types carry them unless a field opts out).
    for name in ("type", "topics", "city", "speaker_ids", "start_date", "pk"):
        assert fields[name].get("docValues") != "false", name
    for name in ("topics", "attendee_ids", "speaker_ids", "people_ids", "text"):
        assert fields[name].get("multiValued") == "true", name
    root = ET.parse(CONF / "managed-schema.xml").getroot()
    assert root.find("uniqueKey").text == "id"


def test_solrconfig_reads_the_schema_and_allows_2048_clauses():
    root = ET.parse(CONF / "solrconfig.xml").getroot()
    assert root.find("schemaFactory/str[@name='managedSchemaResourceName']").text == "managed-schema.xml"
    limit = root.find("query/maxBooleanClauses").text
    assert int(re.search(r":(\d+)\}", limit).group(1)) >= 2048


def test_pks_filter_with_the_terms_parser():
    params = text_params(TextQuery("ada", types=("person",), pks=(3, 1, 2), today=TODAY))
    assert params["fq"] == ["{!terms f=type tag=type}person", "{!terms f=pk}3,1,2"]


def test_only_folded_words_reach_the_query():
    q = text_params(TextQuery('Zürich") OR *:* py', today=TODAY))["q"]
    assert q.startswith("+(title_folded:zurich^2 text:zurich tags:zurich^3) +(title_folded:or^2 ")
    assert "+(title_folded:py^2 text:py tags:py^3) type:event" in q  # two letters: no prefix
    assert '"' not in q and "*:*" not in q

