import datetime as dt

import pytest
from sqlalchemy import func, select

from digest.demo.seed import SeedError, SeedPlan, seed
from digest.stores import db

TODAY = dt.date(2026, 11, 28)


def counts(engine):
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables}


def follow_counts(engine):
    with engine.connect() as c:
        rows = c.execute(select(db.follow.c.follower_id, func.count()).group_by(db.follow.c.follower_id))
        return dict(rows.all())


def test_seed_fills_every_catalogue_table(engine):
    stats = seed(engine, SeedPlan(people=600, events=80, subscribers=50, seed=3, today=TODAY))
    found = counts(engine)
    assert found["person"] == stats.people == 600
    assert found["follow"] == stats.follows > 600
    assert found["event"] == stats.events == 80
    assert found["session"] == stats.sessions >= 80
    assert found["attendance"] == stats.attendances
    assert found["subscription"] == stats.subscriptions == 50
    assert found["coverage"] == stats.coverage > 0
    with engine.connect() as c:
        dates = c.execute(select(func.min(db.event_.c.start_date), func.max(db.event_.c.start_date))).one()
        roles = dict(c.execute(select(db.attendance.c.role, func.count()).group_by(db.attendance.c.role)).all())
        self_follows = c.execute(
            select(func.count()).where(db.follow.c.follower_id == db.follow.c.followee_id)
        ).scalar_one()
    assert TODAY - dt.timedelta(days=365) <= dates[0] < TODAY < dates[1] <= TODAY + dt.timedelta(days=120)
    assert {"attending", "speaking", "tracking"} <= set(roles)
    assert self_follows == 0


def test_same_seed_same_data_different_seed_different_data(engine, make_settings, migrated_database_url):
    seed(engine, SeedPlan(people=300, events=30, subscribers=10, seed=7, today=TODAY))
    first = follow_counts(engine)
    seed(engine, SeedPlan(people=300, events=30, subscribers=10, seed=7, today=TODAY, reset=True))
    assert follow_counts(engine) == first
    seed(engine, SeedPlan(people=300, events=30, subscribers=10, seed=8, today=TODAY, reset=True))
    assert follow_counts(engine) != first


def test_follow_counts_are_heavy_tailed_past_the_or_query_limit(engine):
    seed(engine, SeedPlan(people=6_000, events=5, subscribers=0, seed=1, today=TODAY))
    per_person = sorted(follow_counts(engine).values())
    median = per_person[len(per_person) // 2]
    assert median < 20
    assert per_person[-1] > 2048  # some people follow more than one search OR query takes


def test_seed_refuses_to_mix_with_existing_data(engine):
    seed(engine, SeedPlan(people=50, events=5, subscribers=5, seed=1, today=TODAY))
    with pytest.raises(SeedError, match="--reset"):
        seed(engine, SeedPlan(people=50, events=5, subscribers=5, seed=1, today=TODAY))
    with pytest.raises(SeedError, match="--subscribers"):
        seed(engine, SeedPlan(people=50, events=5, subscribers=51, seed=1, today=TODAY, reset=True))


def test_ids_continue_after_seeding(engine):
    """Rows inserted later (by the site) must not collide with the seeded explicit ids."""
    seed(engine, SeedPlan(people=20, events=2, subscribers=2, seed=1, today=TODAY))
    with engine.begin() as c:
        new_id = c.execute(
            db.topic.insert().values(name="New", slug="new-topic", cache_version=1)
        ).inserted_primary_key[0]
    with engine.connect() as c:
        assert new_id == c.execute(select(func.max(db.topic.c.id))).scalar_one()
        assert c.execute(select(func.count()).select_from(db.topic)).scalar_one() > 1


def test_demo_people_have_accounts_and_some_follows_are_imported(engine):
    import datetime as dtm

    from digest.accounts.follows import pairs_sync
    from digest.vocabulary import FollowSource

    stats = seed(engine, SeedPlan(people=400, events=20, subscribers=10, seed=3, today=TODAY))
    found = counts(engine)
    assert found["account"] == stats.accounts > 0 and stats.imported_follows > 0
    with engine.connect() as c:
        providers = dict(c.execute(select(db.account.c.provider, func.count()).group_by(db.account.c.provider)).all())
        sources = dict(c.execute(select(db.follow.c.source, func.count()).group_by(db.follow.c.source)).all())
        imported = select(db.follow.c.follower_id).where(db.follow.c.source != "manual").distinct()
        followers = sorted(c.execute(imported).scalars())[:25]
    assert set(providers) == {"github", "mastodon", "bluesky"}
    assert set(sources) == {"manual", "github", "mastodon", "bluesky"}
    assert sum(n for s, n in sources.items() if s != "manual") == stats.imported_follows
    # The imported follows are exactly what the stored lists make: matching them again changes nothing.
    with engine.connect() as c:
        for follower in followers:
            for source in (FollowSource.GITHUB, FollowSource.MASTODON, FollowSource.BLUESKY):
                change = pairs_sync(c, source=source, now=dtm.datetime.now(dtm.UTC), follower_id=follower)
                assert (change.added, change.removed) == (0, 0)
        c.rollback()
