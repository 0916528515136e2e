"""The pure stages (digest/nightly/compose.py): values in, values out, no store touched.

The inputs are plain values (friend events, mention memory, cards), as the pipeline
would have fetched them; the settings point at no database or Redis that exists.
"""

from collections import defaultdict
from email import policy
from email.parser import BytesParser

import pytest

from digest.graph.store import day_number
from digest.nightly.compose import Composer, Inputs, people_wanted, select_all, unsubscribe_mailto
from digest.nightly.hydrate import SubscriptionRow
from tests.digest.nightly.sample_digests import DIGEST_DATE, event, person

RECIPIENT, SPEAKER = person(10, "Rec Ipient"), person(11, "Ada Speaker")
FRIEND, STRANGER = person(12, "Bob Friend"), person(13, "Cy Stranger")
PYCON, MEETUP = event(1, "PyCon Lisbon", days=3), event(2, "Redis Meetup", days=40)
SUB = SubscriptionRow(id=7, person_id=RECIPIENT.id, list_name="daily", status="active", email="rec@example.com")
QUIET = SubscriptionRow(id=8, person_id=STRANGER.id, list_name="daily", status="active", email="cy@example.com")


def inputs(*, mentioned=None, people=()) -> Inputs:
    return Inputs(
        digest_date=DIGEST_DATE,
        friends={RECIPIENT.id: {
            PYCON.id: {SPEAKER.id: "speaking", FRIEND.id: "attending"}, MEETUP.id: {FRIEND.id: "attending"},
        }},
        mentioned=mentioned or {},
        events={PYCON.id: PYCON, MEETUP.id: MEETUP},
        people={p.id: p for p in people},
    )


@pytest.fixture
def composer(make_settings):
    # No store is ever opened: composing reads only the settings' URLs and keys.
    return Composer(make_settings(database_url="sqlite:////nonexistent/never.sqlite3", redis_url="redis://192.0.2.1:1/0"))


def test_selection_lists_what_is_new_and_leaves_out_what_was_mentioned():
    selections = select_all([SUB, QUIET], inputs(mentioned={SUB.id: {MEETUP.id}}))
    assert list(selections[SUB.id].new) == [PYCON.id]
    assert selections[QUIET.id].empty  # follows nobody going anywhere


def test_the_people_wanted_are_the_recipients_and_the_people_their_digests_name():
    given = inputs()
    wanted = people_wanted([SUB, QUIET], given, select_all([SUB, QUIET], given))
    assert wanted == {RECIPIENT.id, STRANGER.id, SPEAKER.id, FRIEND.id}


def test_a_digest_with_news_becomes_a_signed_message(composer):
    given = inputs(people=(RECIPIENT, SPEAKER, FRIEND))
    selection = select_all([SUB], given)[SUB.id]
    prepared = composer.compose(SUB, selection=selection, inputs=given, timings=defaultdict(float))
    message = BytesParser(policy=policy.default).parsebytes(prepared.message)
    assert message["To"] == "Rec Ipient <rec@example.com>" and "PyCon Lisbon" in prepared.html
    assert message["List-Unsubscribe"].startswith(f"<{composer.settings.site.unsubscribe_url}/u/")
    assert prepared.mentioned == {PYCON.id: day_number(PYCON.start_date), MEETUP.id: day_number(MEETUP.start_date)}
    ref = composer.return_path.verify(prepared.envelope_sender)  # bounces name the delivery they are about
    assert (ref.subscription_id, ref.digest_date) == (SUB.id, DIGEST_DATE)
    outgoing = prepared.outgoing
    assert (outgoing.subscription_id, outgoing.email, outgoing.message) == (SUB.id, SUB.email, prepared.message)


def test_stages_are_timed_by_name(composer):
    given, timings = inputs(people=(RECIPIENT, SPEAKER, FRIEND)), defaultdict(float)
    composer.compose(SUB, selection=select_all([SUB], given)[SUB.id], inputs=given, timings=timings)
    assert set(timings) == {"sign", "build", "render", "mime"}


def test_nothing_new_or_no_recipient_card_is_no_message(composer):
    nothing = inputs(mentioned={SUB.id: {PYCON.id, MEETUP.id}}, people=(RECIPIENT,))
    assert composer.compose(SUB, selection=select_all([SUB], nothing)[SUB.id], inputs=nothing,
                            timings=defaultdict(float)).message is None
    no_card = inputs(people=(SPEAKER, FRIEND))  # the recipient's person row is gone
    assert composer.compose(SUB, selection=select_all([SUB], no_card)[SUB.id], inputs=no_card,
                            timings=defaultdict(float)).message is None


def test_the_mailto_alternative_carries_the_token():
    assert unsubscribe_mailto("example.com", "https://x.example/u/TOK.sig") == (
        "mailto:unsubscribe@example.com?subject=unsubscribe%20TOK.sig"
    )

