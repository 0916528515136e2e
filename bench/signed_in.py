"""Benchmark: the signed-in pages, each beside the SQL join it replaces, in one process.

    .venv/bin/python bench/signed_in.py [--people 100000] [--events 10000] [--requests 200]
                                        [--data-dir var/bench-signed-in]

It seeds its own data directory once (SQLite, the embedded Redis; centred on today, so
the calendar has a year of events ahead) and reuses it later. Signed in (through the
login form, so with the signed cookie) as the person who follows the most people
(about 6,000 on the default data), through Django's WSGI handler:

* the event page of the upcoming event where most of the people they follow go, p50
  and p95 with its SQL query count; and the people-first part alone, SINTER on the
  Redis graph against the SQL join that would answer it;
* the calendar (first page), p50 and p95 with its query count, against the SQL join
  the calendar used to be (followed people's attendance joined to events, paged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "site")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

SEED = 11
GOAL_MS = 25.0  # issue 22: every page p95 < 25 ms, signed in too (the event page and the calendar)
PASSWORD = "bench-password-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-signed-in")
    args = parser.parse_args()

    data_dir = args.data_dir.absolute()
    os.environ["LANYARD_DATA_DIR"] = str(data_dir)
    for name in (
        "LANYARD_DATABASE_URL",
        "LANYARD_REDIS_URL",
        "LANYARD_REDIS_PREFIX",
        "LANYARD_SEARCH_URL",
        "LANYARD_ENV",
    ):
        os.environ.pop(name, None)
    ensure_data(args)
    os.environ["DJANGO_SETTINGS_MODULE"] = "lanyard_site.settings"
    # Django and the site are imported only now: their settings read the environment set above.
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from lanyard_site.events.models import Attendance, Event, Follow, Person
    from lanyard_site.personal import selectors

    today = timezone.localdate()
    me_id = Follow.objects.values("follower").annotate(n=Count("pk")).order_by("-n", "follower").first()["follower"]
    me = Person.objects.get(pk=me_id)
    follows = Follow.objects.filter(follower=me).count()
    if me.user_id is None:
        me.user = User.objects.create_user(username=f"bench-{me.pk}", password=PASSWORD)
        me.save()
    client = Client()
    assert client.post("/accounts/login/", {"username": me.user.username, "password": PASSWORD}).status_code == 302
    assert client.cookies.get("lanyard_signed_in"), "the login did not set the signed cookie"

    going = Attendance.objects.filter(
        person__followers__follower=me, role__in=("attending", "speaking"), event__start_date__gte=today
    )
    event_id = going.values("event").annotate(n=Count("pk")).order_by("-n", "event").first()["event"]
    event = Event.objects.get(pk=event_id)
    print(
        f"data: {data_dir} ({args.people} people, {args.events} events); signed in as person {me.pk} following "
        f"{follows} people; event {event.slug} ({going.filter(event=event).count()} of them go); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    def page(url: str) -> tuple[float, float, int]:
        client.get(url)  # warm
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return percentile(timings, 50), percentile(timings, 95), len(captured.captured_queries)

    def timed(work, n: int) -> tuple[float, float]:
        work()
        timings = []
        for _ in range(n):
            started = time.perf_counter()
            work()
            timings.append(time.perf_counter() - started)
        return percentile(timings, 50), percentile(timings, 95)

    gc.collect()
    gc.freeze()  # what loading made, out of the collector's scans, as a gunicorn worker does (gunicorn_conf.py)
    p50, p95, queries = page(f"/events/{event.slug}/")
    print(
        f"event page (signed in): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, {queries} queries "
        f"(goal p95 < {GOAL_MS:.0f} ms: {'MET' if p95 * 1000 < GOAL_MS else 'MISSED'}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    sinter = timed(lambda: selectors.followed_at_event(me.pk, event), args.requests)
    join = timed(lambda: sql_followed_at_event(me, event), args.requests)
    answer, expected = selectors.followed_at_event(me.pk, event), sql_followed_at_event(me, event)
    assert [p.pk for p in answer.people] == [p.pk for p in expected[1]] and answer.count == expected[0]
    print(
        f"  people you follow there: SINTER + names p50 {sinter[0] * 1000:.2f} ms, p95 {sinter[1] * 1000:.2f} ms; "
        f"SQL join p50 {join[0] * 1000:.2f} ms, p95 {join[1] * 1000:.2f} ms; "
        f"ratio SQL/SINTER p95 {join[1] / sinter[1]:.1f}x"
    )

    p50, p95, queries = page("/calendar/")
    total = len(selectors.calendar(me.pk).event_ids)
    print(
        f"calendar (signed in, {total} events, first page of 50): p50 {p50 * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, {queries} queries (goal p95 < {GOAL_MS:.0f} ms: "
        f"{'MET' if p95 * 1000 < GOAL_MS else 'MISSED'}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    ours = timed(lambda: calendar_first_page(me), max(20, args.requests // 4))
    theirs = timed(lambda: sql_calendar_first_page(me, today), max(20, args.requests // 4))
    print(
        f"  calendar data: digest strategy + page p50 {ours[0] * 1000:.1f} ms, p95 {ours[1] * 1000:.1f} ms; "
        f"SQL join p50 {theirs[0] * 1000:.1f} ms, p95 {theirs[1] * 1000:.1f} ms; "
        f"ratio SQL/strategy p95 {theirs[1] / ours[1]:.1f}x"
    )


def calendar_first_page(me):
    from lanyard_site.personal import selectors  # after django.setup(), as every site import here

    calendar = selectors.calendar(me.pk)
    return calendar.entries(calendar.event_ids[:50])


def sql_followed_at_event(me, event):
    """What SINTER follows:<me> attendees:<event> replaces: a count and the first 50 by name, joined in SQL."""
    from lanyard_site.events.models import Person  # after django.setup()

    people = Person.objects.filter(
        attendances__event=event, attendances__role__in=("attending", "speaking"), followers__follower=me
    )
    return people.count(), list(people.order_by("name", "pk")[:50])


def sql_calendar_first_page(me, today: dt.date):
    """The calendar as it was: followed people's attendance joined to events, the first 50 events."""
    from lanyard_site.events.models import Attendance, Event  # after django.setup()

    window_end = today + dt.timedelta(days=365)
    ids = list(
        Event.objects.filter(
            attendances__person__followers__follower=me,
            attendances__role__in=("attending", "speaking"),
            start_date__gte=today,
            start_date__lte=window_end,
        )
        .order_by("start_date", "name", "pk")
        .values_list("pk", flat=True)
        .distinct()[:50]
    )
    return list(
        Attendance.objects.filter(
            person__followers__follower=me, role__in=("attending", "speaking"), event_id__in=ids
        ).select_related("event", "person")
    )


def ensure_data(args) -> None:
    # Imported here: the CLI's App reads LANYARD_DATA_DIR, set by main() just before.
    from sqlalchemy import func, select

    from digest.demo.seed import SeedPlan
    from digest.demo.world import seed_with_graph
    from digest.handles import Handles
    from digest.stores import db

    app = Handles()
    from lanyard_site.boot import migrate

    migrate()
    with app.engine.connect() as c:
        people = c.execute(select(func.count()).select_from(db.person)).scalar_one()
    if people != args.people:
        print(f"seeding {args.people} people, {args.events} events (once; reused later)...", flush=True)
        seed_with_graph(app.engine, app.graph, SeedPlan(
            people=args.people, events=args.events, subscribers=100, seed=SEED, today=dt.date.today(), reset=True,
        ))
    elif not app.graph.ready():
        from digest.graph.sync import rebuild  # only when the graph is missing or incomplete

        rebuild(app.graph, app.engine)


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


if __name__ == "__main__":
    main()
