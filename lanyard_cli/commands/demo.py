import sys

import click
from sqlalchemy import func, select

from digest.vocabulary import DigestList

from ..steps import rebuild_search, run_seed


@click.command()
@click.option("--people", default=2_000, show_default=True, type=click.IntRange(min=2))
@click.option("--events", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--subscribers", default=200, show_default=True, type=click.IntRange(min=0))
@click.option("--reset", is_flag=True,
              help="Replace the data of an earlier run: its people, events, site accounts and outbox.")
@click.pass_obj
def demo(app, people, events, subscribers, reset):
    """The whole job on the embedded defaults: migrate, seed demo data, build the graph and the search index,
    send a nightly digest."""
    from digest.stores import db

    if subscribers > people:
        raise click.BadParameter(f"cannot exceed --people ({people})", param_hint="--subscribers")
    settings = app.settings
    click.echo(f"data directory: {settings.data_dir}")
    app.migrate()
    _replace_earlier_run(app, reset=reset)
    from digest.demo.seed import SeedPlan

    run_seed(app, SeedPlan(people=people, events=events, subscribers=subscribers, seed=1, today=None, reset=True))
    # The site's search (and the "appears most often with" lists) read the index.
    rebuild_search(app)

    # The summary is read back from the stores, not from what the seeder meant to write.
    with app.engine.connect() as connection:
        counts = {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("people", db.person), ("follows", db.follow), ("accounts", db.account), ("events", db.event_),
                ("talks", db.session), ("attendances", db.attendance), ("subscriptions", db.subscription),
            )
        }
    keys = app.graph.keys()
    pipe = app.redis.pipeline(transaction=False)
    for person_id in range(1, counts["people"] + 1):
        pipe.scard(keys.follows(person_id))
    redis_follows = sum(pipe.execute())
    click.echo("summary (read back from the database and Redis):")
    for name, count in counts.items():
        click.echo(f"  {name:>14}: {count}")
    click.echo(f"  {'graph follows':>14}: {redis_follows} in Redis generation {keys.generation}")
    click.echo(f"database: {settings.database.primary.url}")
    _nightly_digest(app)


def _replace_earlier_run(app, *, reset: bool) -> None:
    """An earlier run's data is replaced only when asked (``--reset``, or yes at a terminal):
    its people and events, the site accounts made meanwhile (their profiles go with the
    people; staff accounts stay and can make a new profile), and its emails and previews."""
    from django.contrib.auth.models import User
    from sqlalchemy import func, select

    from digest.stores import db

    with app.engine.connect() as connection:
        people = connection.execute(select(func.count()).select_from(db.person)).scalar_one()
    accounts = User.objects.filter(is_staff=False, is_superuser=False)
    emails = _outbox_files(app.settings)
    if not people and not accounts.exists() and not emails:
        return
    what = (
        f"the database holds {people} people from an earlier run; the demo replaces all of its data, "
        f"deletes its {accounts.count()} site account(s) (staff accounts stay) and its {len(emails)} email(s) "
        "in the outbox"
    )
    if not reset:
        if not sys.stdin.isatty():
            raise click.ClickException(f"{what}; run `lanyard demo --reset` to do that")
        click.confirm(f"{what}. Go on?", abort=True)
    accounts.delete()
    for path in emails:
        path.unlink(missing_ok=True)
    click.echo(f"replacing the earlier run: {people} people, its site accounts and {len(emails)} email(s)")


def _outbox_files(settings) -> list:
    """The earlier run's emails (a maildir outbox) and previews."""
    folders = [settings.data_dir / "previews"]
    if settings.mail.transport.scheme == "maildir":
        folders += [settings.mail.transport.path / part for part in ("new", "cur", "tmp")]
    return [path for folder in folders if folder.is_dir() for path in folder.iterdir() if path.is_file()]


def _nightly_digest(app) -> None:
    """Run today's digest into the outbox, then say where to look."""
    import datetime as dt

    from digest.nightly.mentions import forget_mentions
    from digest.runs.planning import RunRequest, run_start

    from ..display import print_progress, watch_with_a_worker
    from ..steps import first_with_news, write_preview

    settings = app.settings
    today = dt.date.today()
    # Fresh data reuses subscription ids: what earlier digests mentioned no longer applies.
    forget_mentions(app.redis, settings.redis.prefix)
    # The preview comes first: once sent, the same events are no longer new.
    handle = first_with_news(app, digest_date=today)
    files = (
        write_preview(
            app, handle=handle, digest_date=today, list_name=DigestList.DAILY, out=settings.data_dir / "previews"
        )
        if handle
        else None
    )
    # Through a real Celery worker on the embedded Redis (one is started for the run
    # when none is running, and stopped cleanly after it), as in production.
    click.echo(f"running the nightly digest for {today} through Celery")
    run_id = run_start(app.engine, app.enqueue, request=RunRequest(digest_date=today, chunk_size=0))
    click.echo(f"run {run_id} started: daily digest for {today:%Y-%m-%d}")
    print_progress(watch_with_a_worker(app, run_id=run_id))
    mail = settings.mail.transport
    if mail.scheme == "maildir":
        delivered = sorted((mail.path / "new").glob("*"), key=lambda path: path.stat().st_mtime)
        click.echo(f"outbox (a maildir; every file is one email, open it with a mail client): {mail.path}")
        if delivered:
            click.echo(f"  one email as delivered: {delivered[-1]}")
            link = _unsubscribe_link(delivered[-1])
            if link:
                click.echo(f"  its unsubscribe link: {link}")
                click.echo("  (`lanyard up` serves it with the site; open the link, or POST to it)")
    else:
        click.echo(f"emails went to {mail.host}:{mail.port}")
    if files:
        click.echo(f"preview of @{handle}'s email: {files.eml}")
        click.echo(f"  open in a browser: {files.html}")
    click.echo("browse the same data: `lanyard up`, then open " + settings.site.base_url + "/")


def _unsubscribe_link(path) -> str | None:
    """The https link of an email's List-Unsubscribe header, as a mail client reads it."""
    from email import policy
    from email.parser import BytesHeaderParser

    with open(path, "rb") as handle:
        header = BytesHeaderParser(policy=policy.default).parse(handle).get("List-Unsubscribe", "")
    for part in str(header).split(","):
        part = part.strip().strip("<>")
        if part.startswith(("http://", "https://")):
            return part
    return None


COMMANDS = [demo]
