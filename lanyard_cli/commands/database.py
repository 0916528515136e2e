import click


@click.command()
@click.pass_obj
def migrate(app):
    """Create or update the database schema (Django migrations)."""
    app.migrate(verbosity=1)
    click.echo(f"database is up to date: {app.settings.database.primary.backend}")


COMMANDS = [migrate]
