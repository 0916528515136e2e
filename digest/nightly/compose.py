"""Composing digests: the pure stages, over values the pipeline fetched beforehand.

select (which events a digest lists) → build (the ``Digest`` value) → sign (the
unsubscribe and calendar links) → render (subject, text, HTML) → MIME (the message
bytes, DKIM-signed). Nothing here reads or writes a store: :class:`Inputs` holds what
the stores said (friend events, mention memory, event and person cards), and
:class:`Composer` holds the tools made once from the settings (templates, keys).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from digest.bounces.verp import ReturnPath
from digest.clock import Timings, timed
from digest.config import Settings
from digest.graph.store import day_number
from digest.links import manage_link, unsubscribe_link
from digest.nightly.build import (
    Cards,
    EventOrder,
    Links,
    Recipient,
    Selection,
    build_digest,
    people_to_hydrate,
    select_events,
)
from digest.nightly.hydrate import SubscriptionRow
from digest.nightly.message import (
    DkimSigner,
    ListHeaders,
    build_message,
    make_list_id,
    make_message_id,
    sender_domain,
    sender_name,
)
from digest.nightly.render import Renderer
from digest.tokens import DeliveryRef, FeedRef, ReturnPathSigner, SubscriptionRef, TokenSigner
from digest.values import Digest, EventCard, FriendEvents, Outgoing, PersonCard

_NOTHING: Mapping[int, Mapping[int, str]] = {}


@dataclass(frozen=True)
class Prepared:
    """One subscription's digest, ready to deliver (``message`` None: nothing new)."""

    subscription: SubscriptionRow
    digest: Digest | None = None
    message: bytes | None = None
    message_id: str = ""
    envelope_sender: str = ""  # the signed return path (VERP) bounces come back to
    html: str = ""
    mentioned: dict[int, int] = field(default_factory=dict)  # event id → start day, to remember

    @property
    def outgoing(self) -> Outgoing:
        """What delivery needs of it."""
        return Outgoing(
            subscription_id=self.subscription.id, email=self.subscription.email, message=self.message,
            message_id=self.message_id, envelope_sender=self.envelope_sender, mentioned=self.mentioned,
        )


@dataclass(frozen=True)
class Inputs:
    """What the stores said about a group of subscriptions, fetched before any digest is built."""

    digest_date: dt.date
    friends: Mapping[int, FriendEvents]  # subscriber person id → their friend events
    mentioned: Mapping[int, Collection[int]]  # subscription id → events earlier digests mentioned
    events: Mapping[int, EventCard]
    people: Mapping[int, PersonCard] = field(default_factory=dict)

    @cached_property
    def cards(self) -> Cards:
        return Cards(events=self.events, people=self.people)

    def friends_of(self, subscription: SubscriptionRow) -> FriendEvents:
        return self.friends.get(subscription.person_id, _NOTHING)


def select_all(subscriptions: Sequence[SubscriptionRow], inputs: Inputs) -> dict[int, Selection]:
    """Subscription id → the events its digest lists (the people need not be loaded yet)."""
    known_events = EventOrder.of({e: card.start_date for e, card in inputs.events.items()})
    return {
        s.id: select_events(
            inputs.friends_of(s), inputs.mentioned.get(s.id, ()), known_events=known_events,
            digest_date=inputs.digest_date,
        )
        for s in subscriptions
    }


def people_wanted(
    subscriptions: Sequence[SubscriptionRow], inputs: Inputs, selections: Mapping[int, Selection]
) -> set[int]:
    """The people to load cards of: the recipients, and the followed people their digests name."""
    wanted = {s.person_id for s in subscriptions}
    for s in subscriptions:
        if not selections[s.id].empty:
            wanted |= people_to_hydrate(inputs.friends_of(s), selections[s.id])
    return wanted


def unsubscribe_mailto(domain: str, unsubscribe_url: str) -> str:
    """The ``mailto:`` List-Unsubscribe alternative; its subject carries the signed token,
    so whoever reads that mailbox can verify a request like the endpoint does."""
    token = unsubscribe_url.rpartition("/")[2]
    return f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}"


class Composer:
    """Build, sign, render and MIME: the tools made once per process from the settings."""

    def __init__(self, settings: Settings, *, renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.renderer = renderer if renderer is not None else Renderer.from_settings(settings)
        self.dkim = DkimSigner.from_settings(settings)
        self.signer = TokenSigner(settings.secret_keys)
        self.links = Links(
            settings.site.base_url, manage_link(settings), sender_name=sender_name(settings.mail.sender),
            postal_address=settings.mail.postal_address,
        )
        self.domain = sender_domain(settings.mail.sender)
        bounce_domain = settings.mail.bounce_domain or self.domain
        self.return_path = ReturnPath(ReturnPathSigner(settings.secret_keys), bounce_domain)

    def compose(
        self, subscription: SubscriptionRow, *, selection: Selection, inputs: Inputs, timings: Timings
    ) -> Prepared:
        """The digest and its message, or a :class:`Prepared` without one when there is nothing new."""
        s, digest_date = subscription, inputs.digest_date
        recipient = inputs.people.get(s.person_id)
        if selection.empty or recipient is None:
            return Prepared(subscription=s)
        with timed(timings, "sign"):
            unsubscribe_url = unsubscribe_link(self.settings, self.signer, SubscriptionRef(s.id, s.list_name))
            feed_url = self.links.feed(self.signer.sign_feed(FeedRef(recipient.id, recipient.feed_version)))
        with timed(timings, "build"):
            to = Recipient(s.id, s.list_name, s.email, recipient, unsubscribe_url=unsubscribe_url, feed_url=feed_url)
            digest = build_digest(
                recipient=to, digest_date=digest_date, friends=inputs.friends_of(s), selection=selection,
                cards=inputs.cards, links=self.links,
            )
        with timed(timings, "render"):
            rendered = self.renderer.render(digest)
        with timed(timings, "mime"):
            message_id = make_message_id(subscription_id=s.id, digest_date=digest_date, domain=self.domain)
            headers = ListHeaders(
                message_id=message_id, list_id=make_list_id(list_name=s.list_name, domain=self.domain),
                unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto(self.domain, unsubscribe_url),
                feedback_id=f"{digest_date:%Y%m%d}:{s.list_name}:digest:{self.domain}",
            )
            message = build_message(
                rendered=rendered, digest=digest, sender=self.settings.mail.sender, headers=headers, dkim=self.dkim
            )
        return Prepared(
            subscription=s, digest=digest, message=message, message_id=message_id, html=rendered.html,
            envelope_sender=self.return_path.address(DeliveryRef(s.id, digest_date)),
            mentioned={e: day_number(inputs.events[e].start_date) for e in selection.new},
        )
