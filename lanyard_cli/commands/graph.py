import click

from ..progress_bars import StepProgress


@click.group()
def graph():
    """The social graph in Redis (a copy of the database)."""


@graph.command()
@click.pass_obj
def rebuild(app):
    """Rebuild the graph from the database and swap it in atomically."""
    from digest.graph.sync import rebuild as rebuild_graph

    with StepProgress() as progress:
        stats = rebuild_graph(app.graph, app.engine, progress=progress)
    click.echo(
        f"graph generation {stats.generation} is live: {stats.follows} follows, "
        f"{stats.attendances} attendances, {stats.keys} keys in {stats.seconds:.1f}s"
    )


@graph.command()
@click.option("--show", default=20, show_default=True, type=click.IntRange(min=0), help="Differences to list.")
@click.pass_obj
def check(app, show):
    """Compare the graph with the database; exit 1 on drift."""
    from digest.graph.sync import check as check_graph

    with StepProgress(unit="keys") as progress:
        drift = check_graph(app.graph, app.engine, progress=progress)
    if drift.generation is None:
        click.echo("drift: the graph has never been built; run `lanyard graph rebuild`")
        raise SystemExit(1)
    if drift.clean:
        click.echo(f"no drift: {drift.keys_checked} keys of generation {drift.generation} match the database")
        return
    for difference in drift.differences[:show]:
        click.echo(f"drift: {difference.key}: {difference.missing} missing, {difference.extra} extra")
    missing = sum(d.missing for d in drift.differences)
    extra = sum(d.extra for d in drift.differences)
    click.echo(
        f"drift: {len(drift.differences)} of {drift.keys_checked} keys differ ({missing} members missing, "
        f"{extra} extra); run `lanyard graph rebuild` to mend"
    )
    raise SystemExit(1)


COMMANDS = [graph]
