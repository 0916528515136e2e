"""The demo's programme: who goes to each event, its talks and their speakers, and the
coverage (slides, videos, write-ups) of what already happened."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from digest.demo.seeding import Seeding, weighted_picker
from digest.demo.words import ROOMS, TALK_OPENERS, TALK_SUBJECTS
from digest.embeds import VIMEO, YOUTUBE
from digest.stores import db
from digest.vocabulary import Role

# How much more often the most active people go to events than a typical one: real
# calendars top out at a few dozen events a year, however famous their owner.
MAX_ACTIVITY = 40.0
# A non-speaker's role: three in four attend, the rest only track the event.
CROWD_ROLES = (Role.ATTENDING, Role.ATTENDING, Role.ATTENDING, Role.TRACKING)
COVERAGE_COLUMNS = ["event_id", "session_id", "kind", "title", "url", "provider", "embed_id", "created_at"]


@dataclass
class _Rows:
    """The rows of the events seen since the last insert."""

    attendance: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    speakers: list[dict] = field(default_factory=list)
    coverage: list[dict] = field(default_factory=list)
    session_id: int = 0  # the last one given out

    def insert(self, seeding: Seeding) -> None:
        connection, stats = seeding.connection, seeding.stats
        stats.attendances += db.bulk_insert(
            connection, db.attendance, self.attendance, ["person_id", "event_id", "role", "created_at"]
        )
        stats.sessions += db.bulk_insert(
            connection, db.session, self.sessions,
            ["id", "event_id", "title", "abstract", "starts_at", "room", "cache_version"],
        )
        stats.speakers += db.bulk_insert(connection, db.session_speaker, self.speakers, ["session_id", "person_id"])
        stats.coverage += db.bulk_insert(connection, db.coverage, self.coverage, COVERAGE_COLUMNS)
        for batch in (self.attendance, self.sessions, self.speakers, self.coverage):
            batch.clear()


def attendance_and_talks(seeding: Seeding, popularity: list[float], event_rows: list[dict]) -> None:
    """Each event's crowd, talks and coverage (``popularity``: one weight per person)."""
    rng = seeding.rng
    # Going to events is heavy-tailed too, but capped, and only loosely tied to being
    # followed: the well-followed are a little more active (they are invited to speak).
    activity = [min(MAX_ACTIVITY, rng.paretovariate(1.5) * (1 + min(p, 50.0) / 25)) for p in popularity]
    pick = weighted_picker(rng, activity)
    rows = _Rows()
    for done, event in enumerate(event_rows, 1):
        attendees, speakers = _crowd(seeding, pick, event, len(popularity), rows)
        _talks(seeding, event, len(attendees), speakers, rows)
        if event["start_date"] < seeding.today and rng.random() < 0.3:  # coverage of the event as a whole
            rows.coverage.append(
                {
                    "event_id": event["id"],
                    "session_id": None,
                    "kind": "writeup",
                    "title": f"Write-up: {event['name']}",
                    "url": f"https://coverage.example.org/{event['slug']}/writeup",
                    "provider": "",
                    "embed_id": "",
                    "created_at": seeding.now,
                }
            )
        if len(rows.attendance) >= 50_000 or done == len(event_rows):
            rows.insert(seeding)
            seeding.report("attendance", done, len(event_rows))


def _crowd(
    seeding: Seeding, pick: Callable[[int], set[int]], event: dict, people: int, rows: _Rows
) -> tuple[list[int], list[int]]:
    """Who goes (person indices, shuffled), and who of them speaks; their attendance rows."""
    rng = seeding.rng
    size = max(2, min(people, 3000, int(8.0 * event["_popularity"])))
    # Half the crowd are the regulars of the circuit; half is anyone at all.
    attendees = list(pick(size // 2) | {rng.randrange(people) for _ in range(size - size // 2)})
    rng.shuffle(attendees)
    talks = max(1, min(40, len(attendees) // 8))
    speakers = attendees[: max(1, min(len(attendees) // 3, talks))]
    speaker_set = set(speakers)
    for index in attendees:
        rows.attendance.append(
            {
                "person_id": index + 1,
                "event_id": event["id"],
                "role": Role.SPEAKING if index in speaker_set else rng.choice(CROWD_ROLES),
                "created_at": seeding.now,
            }
        )
    return attendees, speakers


def _talks(seeding: Seeding, event: dict, crowd: int, speakers: list[int], rows: _Rows) -> None:
    """One talk for every eight of a crowd of ``crowd`` (at most 40), each with a speaker."""
    rng = seeding.rng
    zone = ZoneInfo(event["timezone"])
    talks = max(1, min(40, crowd // 8))
    days = (event["end_date"] - event["start_date"]).days + 1
    for talk in range(talks):
        rows.session_id += 1
        session_id = rows.session_id
        # Eight slots a day over the event's days, then parallel tracks in more rooms.
        day = event["start_date"] + dt.timedelta(days=talk // 8 % days)
        # From 09:00 where the event is, stored in UTC.
        start_at = dt.datetime.combine(day, dt.time(9 + talk % 8), tzinfo=zone).astimezone(dt.UTC)
        title = f"{rng.choice(TALK_OPENERS)} {rng.choice(TALK_SUBJECTS)}"
        rows.sessions.append(
            {
                "id": session_id,
                "event_id": event["id"],
                "title": title,
                "abstract": f"{title}: what we tried, what broke, and what we would do again.",
                "starts_at": start_at,
                "room": ROOMS[talk // (8 * days) % len(ROOMS)] if talks > 8 else "",
                "cache_version": 1,
            }
        )
        rows.speakers.append({"session_id": session_id, "person_id": speakers[talk % len(speakers)] + 1})
        if event["start_date"] < seeding.today and rng.random() < 0.3:
            kind = rng.choice(("slides", "video", "notes", "writeup"))
            rows.coverage.append(
                {
                    "event_id": None,
                    "session_id": session_id,
                    "kind": kind,
                    "title": f"{kind.capitalize()}: {title}",
                    **_coverage_link(kind, event["slug"], session_id),
                    "created_at": seeding.now,
                }
            )


def _coverage_link(kind: str, event_slug: str, session_id: int) -> dict:
    """A coverage row's link: videos on the two video providers of digest/embeds.py (with
    the provider and id a fetch would have found, so talk pages embed them), the rest
    anywhere."""
    if kind == "video" and session_id % 2:
        video = hashlib.blake2b(str(session_id).encode(), digest_size=8).hexdigest()[:11]
        return {"url": f"https://www.youtube.com/watch?v={video}", "provider": YOUTUBE.name, "embed_id": video}
    if kind == "video":
        video = str(100000 + session_id)
        return {"url": f"https://vimeo.com/{video}", "provider": VIMEO.name, "embed_id": video}
    return {"url": f"https://coverage.example.org/{event_slug}/{session_id}/{kind}", "provider": "", "embed_id": ""}
