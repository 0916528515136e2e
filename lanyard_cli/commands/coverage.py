"""`lanyard coverage fetch`: one link through the guarded HTTP client, printed or attached."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import click


@click.group()
def coverage():
    """Coverage of talks and events (slides, videos, notes, write-ups) from links."""


@coverage.command()
@click.argument("url")
@click.option("--talk", "talk_id", type=int, help="Attach the link to this talk (its id).")
@click.option("--event", "event_slug", help="Attach the link to this event (its slug).")
@click.pass_context
def fetch(ctx, url, talk_id, event_slug):
    """Fetch URL and print what it is (title, kind, provider, embed, thumbnail).

    With --talk or --event the link is stored as coverage and fetched now, as a pasted
    link would be. Exit 1 with one line `refused: …` or `failed: …` when it cannot be read.
    """
    from digest.coverage.metadata import fetch_metadata
    from digest.http import HttpClient, HttpError, Refused, http_config
    from digest.stores.profile import profile_http

    if talk_id is not None and event_slug:
        raise click.UsageError("give --talk or --event, not both")
    app = ctx.obj
    with HttpClient(http_config(app.settings), observer=profile_http) as client:
        if talk_id is None and not event_slug:
            try:
                found = fetch_metadata(client, url)
            except HttpError as error:
                click.echo(f"{'refused' if isinstance(error, Refused) else 'failed'}: {error.reason}", err=True)
                ctx.exit(1)
            _show(dataclasses.asdict(found))
            return
        coverage_id = _attach(app, url, talk_id, event_slug)
        _fetch_attached(ctx, app, client, coverage_id)


def _attach(app, url: str, talk_id: int | None, event_slug: str | None) -> int:
    from sqlalchemy import select

    from digest.coverage.store import coverage_add
    from digest.stores import db

    if len(url) > 500:
        raise click.BadParameter("longer than 500 characters", param_hint="URL")
    with app.engine.connect() as connection:
        if talk_id is not None:
            found = connection.execute(select(db.session.c.id).where(db.session.c.id == talk_id)).scalar()
            if found is None:
                raise click.BadParameter(f"no talk with id {talk_id}", param_hint="--talk")
            return coverage_add(app.engine, url=url, session_id=talk_id)
        found = connection.execute(select(db.event_.c.id).where(db.event_.c.slug == event_slug)).scalar()
    if found is None:
        raise click.BadParameter(f"no event with slug {event_slug!r}", param_hint="--event")
    return coverage_add(app.engine, url=url, event_id=found)


def _fetch_attached(ctx, app, client, coverage_id: int) -> None:
    from sqlalchemy import select

    from digest.coverage.failures import failure_words
    from digest.coverage.store import coverage_fetch
    from digest.coverage.values import FetchOutcome
    from digest.search.documents import DocKey
    from digest.search.sync import record_pending
    from digest.stores import db
    from digest.stores.keys import RedisKeys

    result = coverage_fetch(app.engine, client, coverage_id=coverage_id, last_attempt=True)
    try:
        record_pending(app.redis, RedisKeys(app.settings.redis.prefix), {DocKey("coverage", coverage_id)})
    except Exception as error:  # the row is stored; the search copy catches up on `search rebuild`
        click.echo(f"note: the search index was not told ({error}); run `lanyard search sync` later", err=True)
    c = db.coverage
    with app.engine.connect() as connection:
        row = connection.execute(select(c).where(c.c.id == coverage_id)).mappings().one()
    if result.outcome is FetchOutcome.FAILED:
        prefix = "refused" if result.refused else "failed"
        click.echo(f"{prefix}: {failure_words(result.reason)} ({result.detail}; coverage {coverage_id} kept, "
                   "titled by its URL)", err=True)
        ctx.exit(1)
    click.echo(f"coverage {coverage_id} attached")
    _show(row)


def _show(found: Mapping[str, Any]) -> None:
    """Print metadata (a Metadata's fields or a coverage row: the same names)."""
    from digest.embeds import embed_src

    click.echo(f"url:       {found['url']}")
    click.echo(f"title:     {found['title']}")
    click.echo(f"kind:      {found['kind'] or '-'}")
    click.echo(f"provider:  {found['provider'] or '-'}")
    click.echo(f"embed:     {embed_src(found['provider'], found['embed_id']) or '-'}")
    click.echo(f"thumbnail: {found['thumbnail_url'] or '-'}")


COMMANDS = [coverage]
