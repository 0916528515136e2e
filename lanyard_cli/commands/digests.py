"""`lanyard digest run` and `lanyard digest preview`: the nightly digest, in this process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.vocabulary import DigestList

from ..progress_bars import StepProgress

if TYPE_CHECKING:
    from digest.nightly.run_here import BatchOutcome

DATE = click.DateTime(formats=["%Y-%m-%d"])
LISTS = click.Choice([m.value for m in DigestList])


def echo_summary(outcome: BatchOutcome, *, list_name: str, digest_date: dt.date) -> None:
    s = outcome.summary
    rate = (s.sent + s.skipped) / outcome.seconds if outcome.seconds else 0.0
    label = " (dry run: nothing sent)" if s.dry_run else ""
    click.echo(
        f"run {s.run_id} ({list_name}, {digest_date}){label}: planned {s.planned}, sent {s.sent}, "
        f"skipped {s.skipped}, failed {s.failed}, bounced {s.bounced} in {outcome.seconds:.1f}s ({rate:.0f} digests/s)"
    )
    if s.timings:
        click.echo("seconds per stage: " + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in s.timings.items()))
    if s.status == "failed" or s.failed:
        click.echo(f"run {s.run_id} {s.status}; `lanyard runs show {s.run_id}` says why")
    if s.failed:
        click.echo(f"{s.failed} failed; `lanyard digest run --date {digest_date}` again retries them")


@click.group()
def digest():
    """The nightly digest: run a batch here, or preview one subscriber's email."""


@digest.command()
@click.option("--date", "digest_date", type=DATE, help="Digest date [default: today].")
@click.option("--list", "list_name", type=LISTS, default=DigestList.DAILY.value, show_default=True)
@click.option("--dry-run", is_flag=True, help="Compute and render everything; send and record nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many subscriptions.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--processes", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Local processes sending chunks side by side (one per core is a good start).")
@click.pass_obj
def run(app, digest_date, list_name, dry_run, limit, chunk_size, processes):
    """Send the digests due for a date, on this machine, then print a summary."""
    from digest.nightly.run_here import RunStoppedHere, run_batch
    from digest.runs.planning import RunRequest

    digest_date = digest_date.date() if digest_date else dt.date.today()
    request = RunRequest(
        digest_date=digest_date, list_name=list_name, dry_run=dry_run, limit=limit, chunk_size=chunk_size
    )
    try:
        with StepProgress(unit="digests") as bar:
            outcome = run_batch(
                app.settings, engine=app.engine, redis_client=app.redis, request=request, processes=processes,
                progress=lambda done, planned: bar("digests", done, planned),
            )
    except RunStoppedHere as error:
        raise click.ClickException(str(error)) from None
    echo_summary(outcome, list_name=list_name, digest_date=digest_date)
    mail = app.settings.mail.transport
    if mail.scheme == "maildir" and not dry_run:
        click.echo(f"outbox: {mail.path}")


@digest.command()
@click.option("--subscriber", "handle", required=True, help="Handle of the subscribing person.")
@click.option("--date", "digest_date", type=DATE, help="Digest date [default: today].")
@click.option("--list", "list_name", type=LISTS, default=DigestList.DAILY.value, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder [default: <data>/previews].")
@click.pass_obj
def preview(app, handle, digest_date, list_name, out):
    """Write the .eml and .html of the digest a subscriber would get (nothing is sent or recorded)."""
    digest_date = digest_date.date() if digest_date else dt.date.today()
    from ..steps import write_preview

    files = write_preview(app, handle=handle, digest_date=digest_date, list_name=list_name,
                          out=out or app.settings.data_dir / "previews")
    click.echo(f"message: {files.eml}")
    click.echo(f"html:    {files.html}")


@digest.command()
@click.option("--subscriber", "handle", required=True, help="Handle of the subscribing person.")
@click.option("--event", "slug", required=True, help="Slug of the event (as in /events/<slug>/).")
@click.option("--date", "digest_date", type=DATE, help="Digest date [default: today].")
@click.option("--list", "list_name", type=LISTS, default="daily", show_default=True)
@click.pass_obj
def explain(app, handle, slug, digest_date, list_name):
    """Why a subscriber gets, or does not get, an event in a day's digest (reads only)."""
    from digest.nightly.explain import ExplainError, ExplainRequest
    from digest.nightly.explain import explain as explain_event

    from ..steps import make_pipeline

    digest_date = digest_date.date() if digest_date else dt.date.today()
    pipeline = make_pipeline(app)
    try:
        result = explain_event(
            app.engine, app.redis, prefix=app.settings.redis.prefix, strategy=pipeline.strategy,
            request=ExplainRequest(handle=handle, event_slug=slug, digest_date=digest_date, list_name=list_name),
        )
    except ExplainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        pipeline.close()
    click.echo(
        f"{handle} ({result.email}), {list_name} subscription {result.subscription_id}: {result.subscription_status}"
    )
    click.echo(f"event: {result.event_name} ({slug}), {result.event_start} to {result.event_end}")
    click.echo(f"digest of {digest_date}: window {result.window[0]} to {result.window[1]}")
    if result.going_in_database:
        click.echo(
            "followed people going (database): " + ", ".join(f"{g.name} ({g.role})" for g in result.going_in_database)
        )
    else:
        click.echo("followed people going (database): none")
    click.echo(f"found by the {result.strategy} strategy: {len(result.going_in_graph)} of them")
    click.echo(f"mentioned by an earlier digest: {'yes' if result.mentioned_before else 'no'}")
    if result.ledger is None:
        click.echo(f"ledger for {digest_date}: nothing yet")
    else:
        entry = result.ledger
        extra = f", {entry['last_error']}" if entry["last_error"] else ""
        feedback = f", report since: {entry['feedback']}" if entry["feedback"] else ""
        click.echo(f"ledger for {digest_date}: {entry['status']} (run {entry['run_id']}{extra}{feedback})")
    click.echo(f"verdict: {result.verdict}")
    for reason in result.reasons:
        click.echo(f"  - {reason}")


COMMANDS = [digest]
