import datetime as dt

import click

from ..steps import run_seed


@click.command()
@click.option("--people", default=2_000, show_default=True, type=click.IntRange(min=2))
@click.option("--events", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--subscribers", default=200, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", "seed_value", default=1, show_default=True, type=int, help="Random seed: same seed, same data.")
@click.option(
    "--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date the data is centred on [default: today]."
)
@click.option("--reset", is_flag=True, help="Delete all existing data first.")
@click.pass_obj
def seed(app, people, events, subscribers, seed_value, today, reset):
    """Fill the database with realistic generated data, then rebuild the graph."""
    if subscribers > people:
        raise click.BadParameter(f"cannot exceed --people ({people})", param_hint="--subscribers")
    app.migrate()
    from digest.demo.seed import SeedPlan

    run_seed(app, SeedPlan(
        people=people, events=events, subscribers=subscribers, seed=seed_value,
        today=today.date() if today else dt.date.today(), reset=reset,
    ))


COMMANDS = [seed]
