"""Realistic data on demand: people, follows, events, talks, attendance, subscribers.

Deterministic for a given seed and "today". The shapes follow real event sites:
follow counts are heavy-tailed (most people follow a few dozen, some follow thousands,
past the 2,048 that a single search OR query takes); a few people are followed by
very many; events spread over the past year and the next 120 days in many cities and
timezones, and popular events draw far more attendees. Rows go in with bulk inserts
(COPY on PostgreSQL) under explicit ids, so no row is read back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, select, text

from digest.demo.accounts import DemoAccounts
from digest.embeds import VIMEO, YOUTUBE
from digest.slugs import make_slug, slug_words
from digest.stores import db
from digest.vocabulary import DigestList, FollowSource, Role, SubscriptionStatus

Progress = Callable[[str, int, int], None]  # (step, done, total)

TOPICS = [
    "Python",
    "Django",
    "JavaScript",
    "TypeScript",
    "React",
    "Rust",
    "Go",
    "Java",
    "Kotlin",
    "Swift",
    "Ruby",
    "Elixir",
    "Haskell",
    "Scala",
    "C++",
    "PostgreSQL",
    "Redis",
    "Kubernetes",
    "DevOps",
    "Security",
    "Machine Learning",
    "Data Science",
    "Accessibility",
    "UX Design",
    "Product Management",
    "Open Source",
    "Cloud",
    "Serverless",
    "Testing",
    "Performance",
    "Mobile",
    "Web Standards",
    "CSS",
    "Databases",
    "Distributed Systems",
    "Observability",
    "Agile",
    "Leadership",
    "Startups",
    "Journalism",
    "Open Data",
    "Privacy",
    "Embedded",
    "Game Development",
    "Blockchain",
    "Search",
    "APIs",
    "Microservices",
    "GraphQL",
    "Education",
    "Diversity in Tech",
    "Hardware",
    "Robotics",
    "Bioinformatics",
    "FinTech",
    "Civic Tech",
]

CITIES = [
    ("London", "United Kingdom", "Europe/London"),
    ("Berlin", "Germany", "Europe/Berlin"),
    ("Paris", "France", "Europe/Paris"),
    ("Amsterdam", "Netherlands", "Europe/Amsterdam"),
    ("Lisbon", "Portugal", "Europe/Lisbon"),
    ("Madrid", "Spain", "Europe/Madrid"),
    ("Barcelona", "Spain", "Europe/Madrid"),
    ("Dublin", "Ireland", "Europe/Dublin"),
    ("Stockholm", "Sweden", "Europe/Stockholm"),
    ("Copenhagen", "Denmark", "Europe/Copenhagen"),
    ("Oslo", "Norway", "Europe/Oslo"),
    ("Helsinki", "Finland", "Europe/Helsinki"),
    ("Warsaw", "Poland", "Europe/Warsaw"),
    ("Prague", "Czechia", "Europe/Prague"),
    ("Vienna", "Austria", "Europe/Vienna"),
    ("Zurich", "Switzerland", "Europe/Zurich"),
    ("Milan", "Italy", "Europe/Rome"),
    ("Florence", "Italy", "Europe/Rome"),
    ("Athens", "Greece", "Europe/Athens"),
    ("Istanbul", "Turkey", "Europe/Istanbul"),
    ("Kyiv", "Ukraine", "Europe/Kyiv"),
    ("Tel Aviv", "Israel", "Asia/Jerusalem"),
    ("Cape Town", "South Africa", "Africa/Johannesburg"),
    ("Lagos", "Nigeria", "Africa/Lagos"),
    ("Nairobi", "Kenya", "Africa/Nairobi"),
    ("Dubai", "United Arab Emirates", "Asia/Dubai"),
    ("Bangalore", "India", "Asia/Kolkata"),
    ("Mumbai", "India", "Asia/Kolkata"),
    ("Singapore", "Singapore", "Asia/Singapore"),
    ("Kuala Lumpur", "Malaysia", "Asia/Kuala_Lumpur"),
    ("Bangkok", "Thailand", "Asia/Bangkok"),
    ("Hong Kong", "China", "Asia/Hong_Kong"),
    ("Shanghai", "China", "Asia/Shanghai"),
    ("Seoul", "South Korea", "Asia/Seoul"),
    ("Tokyo", "Japan", "Asia/Tokyo"),
    ("Sydney", "Australia", "Australia/Sydney"),
    ("Melbourne", "Australia", "Australia/Melbourne"),
    ("Auckland", "New Zealand", "Pacific/Auckland"),
    ("San Francisco", "United States", "America/Los_Angeles"),
    ("Seattle", "United States", "America/Los_Angeles"),
    ("Portland", "United States", "America/Los_Angeles"),
    ("Austin", "United States", "America/Chicago"),
    ("Chicago", "United States", "America/Chicago"),
    ("New York", "United States", "America/New_York"),
    ("Boston", "United States", "America/New_York"),
    ("Toronto", "Canada", "America/Toronto"),
    ("Montreal", "Canada", "America/Toronto"),
    ("Vancouver", "Canada", "America/Vancouver"),
    ("Mexico City", "Mexico", "America/Mexico_City"),
    ("Bogotá", "Colombia", "America/Bogota"),
    ("São Paulo", "Brazil", "America/Sao_Paulo"),
    ("Buenos Aires", "Argentina", "America/Argentina/Buenos_Aires"),
    ("Santiago", "Chile", "America/Santiago"),
    ("Reykjavík", "Iceland", "Atlantic/Reykjavik"),
]

FIRST_NAMES = (
    "Ada Alan Grace Linus Guido Barbara Margaret Dennis Ken Radia Frances Donald Edsger John Tim Vint Hedy "
    "Katherine Dorothy Mary Annie Jean Karen Sophie Frank Niklaus Bjarne James Yukihiro Rasmus Larry Brendan "
    "Anders Simon Jacob Andrew Natalie Ola Jessica Carlos Sofia Mateo Lucia Hiro Aiko Ravi Priya Wei Mei "
    "Olu Amara Kwame Zainab Omar Leila Ivan Olga Lars Ingrid Pieter Anouk Luca Giulia Pedro Ana Diego Camila "
    "Sean Aoife Noah Emma Liam Olivia Ethan Ava Mia Lucas Chloe Arjun Ananya Kenji Yuki Min-jun Seo-yeon "
    # Names as their owners write them: accents and other scripts, which slugs transliterate.
    "José Zoë Søren Łukasz Ángela Björn François Dmitrii Дмитрий Анастасия Νίκος 李娜 王伟 さくら 翔太 민준 "
    "محمد فاطمة אורי प्रिया Nguyễn"
).split()
LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds van-Rossum Liskov Hamilton Ritchie Thompson Perlman Allen Knuth Dijkstra "
    "McCarthy Berners-Lee Cerf Lamarr Johnson Vaughan Jackson Easley Sammet Jones Wilson Wirth Stroustrup "
    "Gosling Matsumoto Lerdorf Wall Eich Hejlsberg Willison Kaplan-Moss Godwin Hughes Kowalski Garcia Rossi "
    "Silva Santos Tanaka Sato Patel Sharma Chen Wang Li Zhang Okafor Mensah Haddad Petrov Ivanova Nielsen "
    "Jansen de-Vries Bianchi Costa Fernandes Murphy Kelly Smith Brown Taylor Martin Dubois Muller Schmidt "
    "Novak Horvat Kim Park Lee Nguyen Tran Singh Gupta Yamamoto Suzuki Hernandez Lopez Gonzalez Moreau "
    "Müller Ødegaard Wałęsa Núñez Šimková Çelik Иванова Παπαδόπουλος 田中 김 حداد כהן शर्मा Trần"
).split()

EVENT_KINDS = ["Conf", "Summit", "Days", "Camp", "Meetup", "Forum", "Festival", "Unconference", "Workshop", "Week"]
TALK_OPENERS = [
    "Lessons from",
    "Scaling",
    "A gentle introduction to",
    "What I wish I knew about",
    "Ten years of",
    "Rethinking",
    "Debugging",
    "Testing",
    "Shipping",
    "The hidden cost of",
    "Beyond",
    "Demystifying",
]
TALK_SUBJECTS = [
    "a million users",
    "legacy code",
    "distributed caches",
    "type systems",
    "async I/O",
    "search at scale",
    "accessible interfaces",
    "zero-downtime deploys",
    "feature flags",
    "set intersections",
    "email at scale",
    "the database you already have",
    "on-call",
    "open source communities",
    "privacy by design",
    "observability",
]


@dataclass
class SeedStats:
    people: int = 0
    follows: int = 0
    imported_follows: int = 0  # of the follows, those imported from GitHub, Mastodon or Bluesky
    accounts: int = 0
    topics: int = 0
    events: int = 0
    sessions: int = 0
    speakers: int = 0
    attendances: int = 0
    coverage: int = 0
    subscriptions: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class SeedError(RuntimeError):
    """The database is not in a state to seed; the message says what to do."""


def seed(
    engine: Engine,
    *,
    people: int,
    events: int,
    subscribers: int,
    seed: int = 1,
    today: dt.date | None = None,
    reset: bool = False,
    progress: Progress | None = None,
) -> SeedStats:
    """Fill an empty (or, with ``reset``, emptied) database with generated data."""
    if people < 2 or events < 1:
        raise SeedError("seed at least 2 people and 1 event")
    if not 0 <= subscribers <= people:
        raise SeedError(f"--subscribers must be between 0 and --people ({people}), not {subscribers}")
    today = today or dt.date.today()
    rng = random.Random(seed)
    stats = SeedStats()
    now = dt.datetime.now(dt.UTC)
    report = progress or (lambda step, done, total: None)

    def timed(step: str) -> _Timer:
        return _Timer(stats.timings, step)

    with engine.begin() as connection:
        existing = connection.execute(select(func.count()).select_from(db.person)).scalar_one()
        if existing and not reset:
            raise SeedError(f"the database already holds {existing} people; pass --reset to replace all data")
        if reset:
            with timed("reset"):
                _delete_everything(connection)

    with engine.begin() as connection:
        with timed("people"):
            popularity = _people(connection, rng, people, now, stats, report)
        demo_accounts = DemoAccounts(seed, now)
        with timed("follows"):
            _follows(connection, rng, people, popularity, demo_accounts, stats, report)
        with timed("accounts"):
            _accounts(connection, people, demo_accounts, stats)
        with timed("events"):
            event_rows = _events(connection, rng, events, today, now, stats, report)
        with timed("attendance"):
            _attendance_and_talks(connection, rng, people, popularity, event_rows, today, now, stats, report)
        with timed("subscriptions"):
            _subscriptions(connection, rng, people, subscribers, now, stats, report)
        _reset_sequences(connection)
    return stats


class _Timer:
    def __init__(self, timings: dict, step: str):
        self.timings, self.step = timings, step

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.step] = time.perf_counter() - self.started


def _heavy_tail(rng: random.Random, scale: float, alpha: float, cap: int) -> int:
    return min(cap, int(scale * rng.paretovariate(alpha)))


def _people(
    connection: Connection, rng: random.Random, count: int, now: dt.datetime, stats: SeedStats, report: Progress
) -> list[float]:
    """Insert people; return each one's popularity (how likely others follow them)."""
    rows, popularity = [], []
    for pid in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last.replace('-', ' ')}"
        handle = make_slug(name, pid, max_length=64)
        city = rng.choice(CITIES)
        rows.append(
            {
                "id": pid,
                "name": name,
                "handle": handle,
                "bio": f"{rng.choice(TOPICS)} person in {city[0]}.",
                "avatar_url": f"https://www.gravatar.com/avatar/{hashlib.md5(handle.encode()).hexdigest()}?d=identicon",
                "timezone": city[2],
                "cache_version": 1,
                "user_id": None,
            }
        )
        popularity.append(rng.paretovariate(1.2))
        if len(rows) >= 20_000:
            stats.people += db.bulk_insert(connection, db.person, rows, list(rows[0]))
            rows.clear()
            report("people", stats.people, count)
    stats.people += db.bulk_insert(connection, db.person, rows, list(rows[0]) if rows else [])
    report("people", stats.people, count)
    return popularity


def _weighted_picker(rng: random.Random, weights: list[float]) -> Callable[[int], set[int]]:
    """pick(k) → up to k distinct indices drawn by weight (fast: one bisect per draw)."""
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    size = len(weights)

    def pick(k: int) -> set[int]:
        chosen: set[int] = set()
        k = min(k, size)
        tries = 0
        while len(chosen) < k and tries < 4 * k + 20:
            chosen.add(min(bisect_left(cumulative, rng.random() * total), size - 1))
            tries += 1
        while len(chosen) < k:  # the heavy head is exhausted: fill uniformly
            chosen.add(rng.randrange(size))
        return chosen

    return pick


def _follows(
    connection: Connection,
    rng: random.Random,
    people: int,
    popularity: list[float],
    accounts: DemoAccounts,
    stats: SeedStats,
    report: Progress,
) -> None:
    """Follows, some imported (their source a network, the follower's stored list naming the followee)."""
    pick = _weighted_picker(rng, popularity)
    columns = ["follower_id", "followee_id", "created_at", "source"]
    listed_columns = ["account_id", "provider", "external_id"]
    rows: list[dict] = []
    listed: list[dict] = []
    for follower in range(1, people + 1):
        listed.extend(accounts.strangers(follower))
        wanted = _heavy_tail(rng, 3.0, 1.1, min(6000, people - 1))
        for index in pick(wanted + 1):
            followee = index + 1
            if followee != follower:
                network = accounts.imported(follower, followee)
                rows.append({"follower_id": follower, "followee_id": followee, "created_at": accounts.now,
                             "source": network or FollowSource.MANUAL})
                if network is not None:
                    stats.imported_follows += 1
                    listed.append(accounts.listed_row(follower, followee, network))
        if len(rows) >= 50_000:
            stats.follows += db.bulk_insert(connection, db.follow, rows, columns)
            db.bulk_insert(connection, db.account_following, listed, listed_columns)
            rows.clear()
            listed.clear()
            report("follows", follower, people)
    stats.follows += db.bulk_insert(connection, db.follow, rows, columns)
    # The lists name accounts inserted after them: the foreign keys are checked at commit.
    db.bulk_insert(connection, db.account_following, listed, listed_columns)
    report("follows", people, people)


def _accounts(connection: Connection, people: int, accounts: DemoAccounts, stats: SeedStats) -> None:
    """The accounts, after the follows (their list counts are known then), then the lists that name them."""
    handles = connection.execute(select(db.person.c.id, db.person.c.handle).order_by(db.person.c.id))
    rows: list[dict] = []
    columns = list(db.account.c.keys())
    for person_id, handle in handles.all():
        rows.extend(accounts.account_rows(person_id, handle))
        if len(rows) >= 20_000:
            stats.accounts += db.bulk_insert(connection, db.account, rows, columns)
            rows.clear()
    stats.accounts += db.bulk_insert(connection, db.account, rows, columns)


def _events(
    connection: Connection,
    rng: random.Random,
    count: int,
    today: dt.date,
    now: dt.datetime,
    stats: SeedStats,
    report: Progress,
) -> list[dict]:
    topic_rows = [
        {"id": i, "name": name, "slug": slug_words(name, max_length=100), "cache_version": 1}
        for i, name in enumerate(TOPICS, 1)
    ]
    stats.topics = db.bulk_insert(connection, db.topic, topic_rows, ["id", "name", "slug", "cache_version"])
    rows, links = [], []
    columns = [
        "id",
        "name",
        "slug",
        "description",
        "start_date",
        "end_date",
        "timezone",
        "venue",
        "city",
        "country",
        "url",
        "cfp_deadline",
        "cache_version",
        "created_at",
    ]
    for eid in range(1, count + 1):
        topic = rng.choice(topic_rows)
        city, country, tz = rng.choice(CITIES)
        start = today + dt.timedelta(days=rng.randint(-365, 120))
        kind = rng.choice(EVENT_KINDS)
        name = f"{topic['name']} {kind} {city} {start.year}"
        slug = make_slug(name, eid)
        rows.append(
            {
                "id": eid,
                "name": name,
                "slug": slug,
                "description": f"{kind} for people who work with {topic['name']}, in {city}.",
                "start_date": start,
                "end_date": start + dt.timedelta(days=rng.choice((0, 0, 1, 1, 2, 4))),
                "timezone": tz,
                "venue": f"{city} Convention Centre" if kind in ("Conf", "Summit", "Festival") else f"{city} Tech Hub",
                "city": city,
                "country": country,
                "url": f"https://events.example.org/{slug}",
                "cfp_deadline": start - dt.timedelta(days=60) if kind in ("Conf", "Summit") else None,
                "cache_version": 1,
                "created_at": now,
                "_popularity": rng.paretovariate(1.3),
            }
        )
        extra = rng.sample(topic_rows, 2)
        for t in {topic["id"], *(t["id"] for t in extra[: rng.randint(0, 2)])}:
            links.append({"event_id": eid, "topic_id": t})
    for first in range(0, len(rows), 20_000):
        stats.events += db.bulk_insert(connection, db.event_, rows[first : first + 20_000], columns)
        report("events", stats.events, count)
    db.bulk_insert(connection, db.event_topic, links, ["event_id", "topic_id"])
    return rows


ROOMS = ["Main hall", "Room 2", "Room 3", "Workshop room", "Hall B"]

# How much more often the most active people go to events than a typical one: real
# calendars top out at a few dozen events a year, however famous their owner.
MAX_ACTIVITY = 40.0
# A non-speaker's role: three in four attend, the rest only track the event.
CROWD_ROLES = (Role.ATTENDING, Role.ATTENDING, Role.ATTENDING, Role.TRACKING)


def _attendance_and_talks(
    connection: Connection,
    rng: random.Random,
    people: int,
    popularity: list[float],
    event_rows: list[dict],
    today: dt.date,
    now: dt.datetime,
    stats: SeedStats,
    report: Progress,
) -> None:
    # Going to events is heavy-tailed too, but capped, and only loosely tied to being
    # followed: the well-followed are a little more active (they are invited to speak).
    activity = [min(MAX_ACTIVITY, rng.paretovariate(1.5) * (1 + min(p, 50.0) / 25)) for p in popularity]
    pick = _weighted_picker(rng, activity)
    attendance_rows, session_rows, speaker_rows, coverage_rows = [], [], [], []
    session_id = 0
    for done, event in enumerate(event_rows, 1):
        zone = ZoneInfo(event["timezone"])
        size = max(2, min(people, 3000, int(8.0 * event["_popularity"])))
        # Half the crowd are the regulars of the circuit; half is anyone at all.
        attendees = list(pick(size // 2) | {rng.randrange(people) for _ in range(size - size // 2)})
        rng.shuffle(attendees)
        talks = max(1, min(40, len(attendees) // 8))
        speakers = attendees[: max(1, min(len(attendees) // 3, talks))]
        speaker_set = set(speakers)
        for index in attendees:
            attendance_rows.append(
                {
                    "person_id": index + 1,
                    "event_id": event["id"],
                    "role": Role.SPEAKING if index in speaker_set else rng.choice(CROWD_ROLES),
                    "created_at": now,
                }
            )
        for talk in range(talks):
            session_id += 1
            # Eight slots a day over the event's days, then parallel tracks in more rooms.
            days = (event["end_date"] - event["start_date"]).days + 1
            day = event["start_date"] + dt.timedelta(days=talk // 8 % days)
            # From 09:00 where the event is, stored in UTC.
            start_at = dt.datetime.combine(day, dt.time(9 + talk % 8), tzinfo=zone).astimezone(dt.UTC)
            title = f"{rng.choice(TALK_OPENERS)} {rng.choice(TALK_SUBJECTS)}"
            session_rows.append(
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
            speaker_rows.append({"session_id": session_id, "person_id": speakers[talk % len(speakers)] + 1})
            if event["start_date"] < today and rng.random() < 0.3:
                kind = rng.choice(("slides", "video", "notes", "writeup"))
                coverage_rows.append(
                    {
                        "event_id": None,
                        "session_id": session_id,
                        "kind": kind,
                        "title": f"{kind.capitalize()}: {session_rows[-1]['title']}",
                        **_coverage_link(kind, event["slug"], session_id),
                        "created_at": now,
                    }
                )
        if event["start_date"] < today and rng.random() < 0.3:  # coverage of the event as a whole
            coverage_rows.append(
                {
                    "event_id": event["id"],
                    "session_id": None,
                    "kind": "writeup",
                    "title": f"Write-up: {event['name']}",
                    "url": f"https://coverage.example.org/{event['slug']}/writeup",
                    "provider": "",
                    "embed_id": "",
                    "created_at": now,
                }
            )
        if len(attendance_rows) >= 50_000 or done == len(event_rows):
            stats.attendances += db.bulk_insert(
                connection, db.attendance, attendance_rows, ["person_id", "event_id", "role", "created_at"]
            )
            stats.sessions += db.bulk_insert(
                connection,
                db.session,
                session_rows,
                ["id", "event_id", "title", "abstract", "starts_at", "room", "cache_version"],
            )
            stats.speakers += db.bulk_insert(connection, db.session_speaker, speaker_rows, ["session_id", "person_id"])
            stats.coverage += db.bulk_insert(
                connection,
                db.coverage,
                coverage_rows,
                ["event_id", "session_id", "kind", "title", "url", "provider", "embed_id", "created_at"],
            )
            for batch in (attendance_rows, session_rows, speaker_rows, coverage_rows):
                batch.clear()
            report("attendance", done, len(event_rows))


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


def _subscriptions(
    connection: Connection,
    rng: random.Random,
    people: int,
    subscribers: int,
    now: dt.datetime,
    stats: SeedStats,
    report: Progress,
) -> None:
    person_ids = rng.sample(range(1, people + 1), subscribers)
    rows = []
    for pid in person_ids:
        rows.append(
            {
                "person_id": pid,
                "list": DigestList.DAILY,
                "status": SubscriptionStatus.ACTIVE,
                "email": f"person{pid}@example.com",
                "send_hour": rng.choice((7, 7, 7, 7, 6, 8, 9)),
                "last_sent_date": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    columns = ["person_id", "list", "status", "email", "send_hour", "last_sent_date", "created_at", "updated_at"]
    for start in range(0, len(rows), 20_000):
        stats.subscriptions += db.bulk_insert(connection, db.subscription, rows[start : start + 20_000], columns)
        report("subscriptions", stats.subscriptions, subscribers)


# Children first, so foreign keys hold at every step.
_TABLES_IN_DELETE_ORDER = [
    db.digest_chunk,
    db.delivery_feedback,
    db.delivery,
    db.digest_run,
    db.unsubscribe_event,
    db.subscription,
    db.slug_history,
    db.coverage,
    db.session_speaker,
    db.session,
    db.attendance,
    db.event_topic,
    db.event_,
    db.topic,
    db.follow,
    db.account_following,
    db.account,
    db.person,
]


def _delete_everything(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in _TABLES_IN_DELETE_ORDER)
        # CASCADE: tables the core does not mirror (the API's tokens) go with their people.
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in _TABLES_IN_DELETE_ORDER:
            connection.execute(delete(table))


def _reset_sequences(connection: Connection) -> None:
    """After inserting explicit ids, move PostgreSQL's identity sequences past them."""
    if connection.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" not in table.c:
            continue  # keyed by name (live_setting): no sequence
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )
