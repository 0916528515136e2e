"""Steps more than one command takes (`lanyard demo` is made of them): seeding, rebuilding
the search index, writing a preview. Command modules import these, never each other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from digest.vocabulary import DigestList, SubscriptionStatus

from .progress_bars import StepProgress


def make_pipeline(app, **options):
    from digest.nightly.pipeline import Pipeline

    return Pipeline(app.settings, engine=app.engine, redis=app.redis, **options)


def run_seed(app, plan):
    """Seed the database as ``plan`` (a digest.demo.seed.SeedPlan) says and rebuild the graph;
    print how long each step took."""
    from digest.demo.seed import SeedError
    from digest.demo.world import seed_with_graph

    with StepProgress() as progress:
        try:
            stats = seed_with_graph(app.engine, app.graph, plan, progress=progress)
        except SeedError as error:
            raise click.ClickException(str(error)) from None
    click.echo(
        f"seeded {stats.people} people, {stats.follows} follows, {stats.events} events, "
        f"{stats.sessions} talks, {stats.attendances} attendances, {stats.subscriptions} subscriptions"
    )
    click.echo("seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in stats.timings.items()))
    return stats


def rebuild_search(app) -> None:
    """Rebuild the search index and say how it went (`lanyard search rebuild`, `lanyard demo`)."""
    from digest.search import SearchError
    from digest.search.sync import rebuild as rebuild_index

    index, keys = _search_handles(app)
    try:
        with StepProgress(unit="docs") as progress, index:
            stats = rebuild_index(index, app.engine, app.redis, keys, progress=progress)
    except SearchError as error:
        raise click.ClickException(f"search: {error}") from error
    click.echo(
        f"search index rebuilt ({index.backend}): {stats.documents} documents in {stats.seconds:.1f}s; "
        f"{stats.caught_up.indexed + stats.caught_up.deleted} updates made meanwhile applied"
    )


def _search_handles(app):
    from digest.search import open_search
    from digest.stores.keys import RedisKeys

    return open_search(app.settings), RedisKeys(app.settings.redis.prefix)


@dataclass
class PreviewFiles:
    eml: Path
    html: Path


def write_preview(app, *, handle: str, digest_date: dt.date, list_name: str, out: Path) -> PreviewFiles:
    """Write the .eml and .html one subscriber would get; touches neither ledger nor Redis memory."""
    from sqlalchemy import select

    from digest.nightly.hydrate import subscriptions_by_id
    from digest.stores import db

    s, p = db.subscription, db.person
    with app.engine.connect() as connection:
        row = connection.execute(
            select(s.c.id, s.c.status)
            .join(p, p.c.id == s.c.person_id)
            .where(p.c.handle == handle, s.c.list == list_name)
        ).first()
        if row is None:
            raise click.BadParameter(
                f"no {list_name} subscription for the handle {handle!r}", param_hint="--subscriber"
            )
        subscriptions = subscriptions_by_id(connection, [row.id])
    pipeline = make_pipeline(app)
    try:
        prepared = pipeline.prepare(subscriptions, digest_date=digest_date)[0]
    finally:
        pipeline.close()
    if prepared.message is None:
        raise click.ClickException(
            f"{handle} would get no {list_name} digest on {digest_date}: nothing new from the people they follow"
        )
    stem = out / f"digest-{handle}-{digest_date}"
    files = PreviewFiles(eml=stem.with_suffix(".eml"), html=stem.with_suffix(".html"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.eml.write_bytes(prepared.message)
        files.html.write_text(prepared.html, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write the preview into {out}: {error.strerror or error}") from None
    if row.status != SubscriptionStatus.ACTIVE:
        click.echo(f"note: this subscription is {row.status}; a run would not send it")
    return files


def first_with_news(app, *, digest_date: dt.date, list_name: str = DigestList.DAILY, batch: int = 100) -> str | None:
    """The handle of the first active subscriber who would get a digest (for the demo)."""
    from sqlalchemy import select

    from digest.nightly.hydrate import subscriptions_by_id
    from digest.stores import db

    s = db.subscription
    with app.engine.connect() as connection:
        ids = connection.execute(
            select(s.c.id).where(s.c.list == list_name, s.c.status == SubscriptionStatus.ACTIVE).order_by(s.c.id)
        ).scalars().all()
    pipeline = make_pipeline(app)
    try:
        for start in range(0, len(ids), batch):
            with app.engine.connect() as connection:
                subscriptions = subscriptions_by_id(connection, ids[start:start + batch])
            for prepared in pipeline.prepare(subscriptions, digest_date=digest_date):
                if prepared.message is not None:
                    return prepared.digest.recipient.handle
    finally:
        pipeline.close()
    return None


def listen_address(url: str, host: str | None, port: int | None) -> tuple[str, int]:
    """``--host``/``--port``, each defaulting to the URL's."""
    public = urlsplit(url)
    if port is None:
        port = public.port or (443 if public.scheme == "https" else 80)
    return host or public.hostname or "localhost", port
