"""The digest as receivers judge it: SpamAssassin's local rules, MIME defects, Gmail's clip.

SpamAssassin is Debian's (``spamassassin -L``: local tests only, no network lookups;
``.ci/run`` installs it). Messages are built exactly as the pipeline builds them.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from email import policy
from email.parser import BytesParser

import pytest

from digest.nightly.message import ListHeaders, build_message, make_list_id, make_message_id
from digest.nightly.render import Renderer
from digest.values import DigestItem, EventCard, PersonCard
from tests.digest.nightly import sample_digests as samples
from tests.digest.nightly.sample_digests import BASE, DIGEST_DATE, event, make_digest, person

DOMAIN = "lanyard.example.com"
GMAIL_CLIP = 102 * 1024  # Gmail hides what follows this many bytes of HTML behind "[Message clipped]"


@pytest.fixture(scope="module")
def renderer():
    return Renderer(base_url=BASE)


def largest_digest():
    """More than any digest can hold: the cap of 20 new events, each with more followed
    speakers and attendees than are shown (long names, in several scripts), the cap of
    10 "also coming up", long event names, a large "and N more"."""
    def people(start: int, count: int) -> tuple[PersonCard, ...]:
        # Handles are at most 64 characters: each linked name's address is as long as it gets.
        return tuple(
            replace(
                person(i, f"Bartholomew-Alexander Featherstonehaugh-Ødegård {i} 李小龙"),
                url=f"{BASE}/people/{f'bartholomew-alexander-featherstonehaugh-odegard-li-xiao-long-{i}'[-64:]}/",
            )
            for i in range(start, start + count)
        )

    def long_event(eid: int) -> EventCard:
        return event(
            eid,
            f"International Conference on Distributed Systems and Software Engineering {eid} – Édition " + "x" * 100,
            days=eid % 300,
            city="San Cristóbal de las Casas",
            country="Mexico",
        )

    new = [
        DigestItem(long_event(i), speakers=people(1000 + 100 * i, 30), attendees=people(1050 + 100 * i, 40))
        for i in range(20)
    ]
    soon = [
        DigestItem(long_event(900 + i), speakers=people(9000 + 10 * i, 3), attendees=people(9005 + 10 * i, 5))
        for i in range(10)
    ]
    return make_digest(new, more_count=4321, soon_items=soon)


def unicode_digest():
    return make_digest([DigestItem(event(1, "Conférence Python Île-de-France"), speakers=(person(7, "José García"),),
                                   attendees=(person(8, "Zoë Ødegård"), person(9, "李小龙")))])


SAMPLES = {
    "rich": samples.rich_digest,
    "single": samples.single_digest,
    "unicode": unicode_digest,
    "largest": largest_digest,
    "soon only": lambda: make_digest(
        soon_items=[DigestItem(event(5, "Local Meetup", days=1), speakers=(samples.ALAN,), attendees=())]
    ),
}


def message(renderer, digest) -> bytes:
    rendered = renderer.render(digest)
    headers = ListHeaders(
        list_id=make_list_id(list_name=digest.list_name, domain=DOMAIN), unsubscribe_url=digest.unsubscribe_url,
        unsubscribe_mailto=f"mailto:unsubscribe@{DOMAIN}?subject=unsubscribe%20TOKEN123.sig",
        feedback_id=f"{DIGEST_DATE:%Y%m%d}:daily:digest:{DOMAIN}",
        message_id=make_message_id(subscription_id=digest.subscription_id, digest_date=DIGEST_DATE, domain=DOMAIN),
    )
    return build_message(rendered=rendered, digest=digest, sender=f"lanyard <digest@{DOMAIN}>", headers=headers)


def spamassassin_score(raw: bytes) -> tuple[float, str]:
    result = subprocess.run(["spamassassin", "-L", "-t"], input=raw, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    report = result.stdout.decode("utf-8", "replace")
    match = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.M)
    assert match, report[:2000]
    details = report[report.find("Content analysis details"):][:3000]
    return float(match.group(1)), details


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_spamassassin_local_rules_score_at_most_one(renderer, name):
    score, details = spamassassin_score(message(renderer, SAMPLES[name]()))
    assert score <= 1.0, details


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_message_parses_without_defects(renderer, name):
    parsed = BytesParser(policy=policy.default).parsebytes(message(renderer, SAMPLES[name]()))
    for part in parsed.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        for header, value in part.items():
            assert not getattr(value, "defects", ()), (header, value.defects)
    assert [p.get_content_type() for p in parsed.walk()] == ["multipart/alternative", "text/plain", "text/html"]


def test_the_largest_digest_stays_under_gmails_clip(renderer):
    digest = largest_digest()
    rendered = renderer.render(digest)
    html = rendered.html.encode("utf-8")
    assert len(html) < GMAIL_CLIP, len(html)
    # Fewer people named per event than the usual 8 per role (every name is a link), the rest counted.
    shown = rendered.html.count('class="avatar"')
    assert 20 * 2 <= shown < 20 * 16, shown
    assert rendered.html.count("/people/") == shown + 10 * 3  # and three named per "also coming up" line
    assert rendered.html.rstrip().endswith("</html>") and "TOKEN123.sig" in rendered.html
    parsed = BytesParser(policy=policy.default).parsebytes(message(renderer, digest))
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
    assert len(rendered.subject) <= 70
