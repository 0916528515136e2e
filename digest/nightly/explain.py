"""Why a subscriber gets (or does not get) an event in a day's digest (``lanyard digest explain``).

The answer is computed the way a run computes it, from the same stores: the friend
strategy the pipeline uses (the Redis graph or the search index), what earlier digests
mentioned (Redis), :func:`~digest.nightly.build.select_events` for the cap and the "also coming
up" rule; next to it, the database's own view of who goes (the source of truth, so a
stale graph shows as a disagreement), the subscription's state and its ledger entry.
Nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy import Engine, select

from digest.nightly.build import MAX_ITEMS, SOON_DAYS, EventOrder, select_events, upcoming_window
from digest.nightly.friend_events import FriendEventsStrategy
from digest.stores import db
from digest.stores.db import batches
from digest.stores.keys import RedisKeys
from digest.vocabulary import FINAL_DELIVERY_STATUSES, GRAPH_ROLES, DigestList, SubscriptionStatus


class ExplainError(LookupError):
    """The subscriber, their subscription or the event does not exist; one line for the user."""


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    handle: str
    event_slug: str
    digest_date: dt.date
    list_name: str = DigestList.DAILY


@dataclass(frozen=True, slots=True)
class Going:
    name: str
    handle: str
    role: str


@dataclass
class Explanation:
    """Every fact the answer rests on, then the verdict and the reasons, in order."""

    request: ExplainRequest
    subscription_id: int
    subscription_status: str
    email: str
    event_name: str
    event_start: dt.date
    event_end: dt.date
    window: tuple[dt.date, dt.date]
    going_in_database: list[Going]
    going_in_graph: list[int]  # person ids the friend strategy found at the event
    strategy: str
    mentioned_before: bool
    ledger: dict | None  # the delivery row for (subscription, date), if any
    included: bool = False  # the event is in that day's email
    verdict: str = ""
    reasons: list[str] = field(default_factory=list)


def explain(
    engine: Engine, redis: Redis, *, prefix: str, strategy: FriendEventsStrategy, request: ExplainRequest
) -> Explanation:
    """The explanation, or :class:`ExplainError` for an unknown handle, subscription or event."""
    p, s, e, f, a, d = db.person, db.subscription, db.event_, db.follow, db.attendance, db.delivery
    window = upcoming_window(request.digest_date)
    with engine.connect() as connection:
        person = connection.execute(select(p.c.id, p.c.name).where(p.c.handle == request.handle)).first()
        if person is None:
            raise ExplainError(f"no person has the handle {request.handle!r}")
        subscription = connection.execute(
            select(s.c.id, s.c.status, s.c.email).where(s.c.person_id == person.id, s.c.list == request.list_name)
        ).first()
        if subscription is None:
            raise ExplainError(f"{request.handle} has no {request.list_name} subscription")
        event = connection.execute(
            select(e.c.id, e.c.name, e.c.start_date, e.c.end_date).where(e.c.slug == request.event_slug)
        ).first()
        if event is None:
            raise ExplainError(f"no event has the slug {request.event_slug!r}")
        going = [
            Going(name, handle, role) for name, handle, role in connection.execute(
                select(p.c.name, p.c.handle, a.c.role)
                .select_from(f.join(a, a.c.person_id == f.c.followee_id).join(p, p.c.id == f.c.followee_id))
                .where(f.c.follower_id == person.id, a.c.event_id == event.id, a.c.role.in_(list(GRAPH_ROLES)))
                .distinct()  # a pair followed from several sources has a follow row for each
                .order_by(p.c.name)
            )
        ]
        row = connection.execute(
            select(d.c.status, d.c.message_id, d.c.last_error, d.c.sent_at, d.c.feedback, d.c.run_id)
            .where(d.c.subscription_id == subscription.id, d.c.digest_date == request.digest_date)
        ).mappings().first()
        found = strategy.friend_events([person.id], window).get(person.id, {})
        starts: dict[int, dt.date] = {}
        for batch in batches(found.keys()):
            starts.update(connection.execute(select(e.c.id, e.c.start_date).where(e.c.id.in_(batch))).all())
    members: list[bytes] = redis.zrange(RedisKeys(prefix).mentioned(subscription.id), 0, -1)  # type: ignore[assignment]
    mentioned_ids = {int(m) for m in members}
    result = Explanation(
        request=request,
        subscription_id=subscription.id,
        subscription_status=subscription.status,
        email=subscription.email,
        event_name=event.name,
        event_start=_date(event.start_date),
        event_end=_date(event.end_date),
        window=(window.start, window.end),
        going_in_database=going,
        going_in_graph=sorted(found.get(event.id, {})),
        strategy=getattr(strategy, "name", type(strategy).__name__),
        mentioned_before=event.id in mentioned_ids,
        ledger=dict(row) if row else None,
    )
    _judge(result, found, {k: _date(v) for k, v in starts.items()}, mentioned_ids, event.id)
    return result


def _judge(
    result: Explanation, found: Mapping[int, Mapping[int, str]], starts: dict[int, dt.date], mentioned: set[int],
    event_id: int,
) -> None:
    _reasons(result)
    selection = select_events(
        found, mentioned, known_events=EventOrder.of(starts), digest_date=result.request.digest_date
    )
    if event_id in selection.new:
        result.included = True
        result.verdict = f"listed: new event {selection.new.index(event_id) + 1} of {len(selection.new)} in the email"
    elif event_id in selection.soon:
        result.included = True
        result.verdict = f"listed under \"also coming up\" (mentioned before, starts within {SOON_DAYS} days)"
    elif event_id in found and event_id in starts and event_id not in mentioned:
        result.verdict = (f"counted in \"and {selection.more_count} more\": the email lists the soonest {MAX_ITEMS} "
                          "new events and links to the calendar for the rest")
    elif event_id in found and event_id in mentioned:
        result.verdict = f"not listed: mentioned before and not starting within {SOON_DAYS} days"
    else:
        result.verdict = "not in the digest"
    if selection.empty:
        result.reasons.append("nothing new for them that day: no email at all")
    if result.included and (result.subscription_status != SubscriptionStatus.ACTIVE
                            or (result.ledger and result.ledger["status"] in FINAL_DELIVERY_STATUSES)):
        result.verdict += ", if a digest went out (see below)"


def _reasons(result: Explanation) -> None:
    """What the subscription, the ledger, the window, the graph and the mention memory say."""
    request, reasons = result.request, result.reasons
    if result.subscription_status != SubscriptionStatus.ACTIVE:
        reasons.append(f"the subscription is {result.subscription_status}: no run plans it")
    if result.ledger is not None:
        status = result.ledger["status"]
        settled = " (settled: no later run sends that day's digest again)" if status in FINAL_DELIVERY_STATUSES else ""
        reasons.append(f"the ledger has the {request.digest_date} delivery as {status}{settled}")
    start, end = result.window
    if not start <= result.event_start <= end:
        reasons.append(f"the event starts {result.event_start}, outside the digest's window {start} to {end}")
    if not result.going_in_database:
        reasons.append("none of the people they follow attends or speaks at the event")
    elif not result.going_in_graph:
        reasons.append(f"the {result.strategy} strategy finds none of them there although the database does: "
                       "the graph or the search index is behind (lanyard graph check)")
    if result.mentioned_before:
        reasons.append("an earlier digest mentioned it (mention memory as it is now)")


def _date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
