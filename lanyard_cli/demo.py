import click
from sqlalchemy import func, select

from .seed import run_seed


@click.command()
@click.option("--people", default=2_000, show_default=True, type=click.IntRange(min=2))
@click.option("--events", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--subscribers", default=200, show_default=True, type=click.IntRange(min=0))
@click.pass_obj
def demo(app, people, events, subscribers):
    """The whole job on the embedded defaults: migrate, seed demo data, build the graph."""
    from digest import db

    if subscribers > people:
        raise click.BadParameter(f"cannot exceed --people ({people})", param_hint="--subscribers")
    settings = app.settings
    click.echo(f"data directory: {settings.data_dir}")
    app.migrate()
    run_seed(app, people=people, events=events, subscribers=subscribers, seed=1, today=None, reset=True)

    # The summary is read back from the stores, not from what the seeder meant to write.
    with app.engine.connect() as connection:
        counts = {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("people", db.person), ("follows", db.follow), ("events", db.event_),
                ("talks", db.session), ("attendances", db.attendance), ("subscriptions", db.subscription),
            )
        }
    keys = app.graph.keys()
    redis_follows = sum(app.redis.scard(keys.follows(pid)) for pid in range(1, counts["people"] + 1))
    click.echo("summary (read back from the database and Redis):")
    for name, count in counts.items():
        click.echo(f"  {name:>14}: {count}")
    click.echo(f"  {'graph follows':>14}: {redis_follows} in Redis generation {keys.generation}")
    click.echo(f"database: {settings.database.url}")


COMMANDS = [demo]
