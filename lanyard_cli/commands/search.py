import click

from ..progress_bars import StepProgress
from ..steps import rebuild_search


@click.group()
def search():
    """The search index (a copy of the database): rebuild, check, sync."""


def _handles(app):
    from digest.search import open_search
    from digest.stores.keys import RedisKeys

    return open_search(app.settings), RedisKeys(app.settings.redis.prefix)


def _failed(error) -> click.ClickException:
    return click.ClickException(f"search: {error}")


@search.command()
@click.pass_obj
def rebuild(app):
    """Stream the database into a fresh index and swap it in atomically."""
    rebuild_search(app)


@search.command()
@click.option(
    "--show", default=20, show_default=True, type=click.IntRange(min=0), help="Document ids to list per kind of drift."
)
@click.pass_obj
def check(app, show):
    """Compare the index with the database; exit 1 on drift."""
    from digest.search import SearchError
    from digest.search.sync import check as check_index

    index, _ = _handles(app)
    try:
        with StepProgress(unit="docs") as progress, index:
            drift = check_index(index, app.engine, progress=progress)
    except SearchError as error:
        raise _failed(error) from error
    if drift.clean:
        click.echo(f"no drift: the {drift.indexed} documents in the index match the database")
        return
    for label, ids in (("missing", drift.missing), ("stale", drift.stale), ("extra", drift.extra)):
        for doc_id in ids[:show]:
            click.echo(f"drift: {label} {doc_id}")
    click.echo(
        f"drift: {len(drift.missing)} missing, {len(drift.stale)} stale, {len(drift.extra)} extra "
        f"(database {drift.checked} documents, index {drift.indexed}); run `lanyard search rebuild` to mend"
    )
    raise SystemExit(1)


@search.command()
@click.pass_obj
def sync(app):
    """Index the pending site writes now (what the indexing task does)."""
    from digest.search import SearchError
    from digest.search.sync import index_pending

    index, keys = _handles(app)
    try:
        with index:
            stats = index_pending(index, app.engine, app.redis, keys)
    except SearchError as error:
        raise _failed(error) from error
    if stats.busy:
        click.echo("another indexer is draining the pending set")
        return
    click.echo(f"indexed {stats.indexed}, deleted {stats.deleted} documents in {stats.batches} batches")


COMMANDS = [search]
