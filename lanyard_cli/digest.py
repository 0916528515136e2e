"""`lanyard digest run` and `lanyard digest preview`: the nightly digest, in this process."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.vocabulary import DigestList, SubscriptionStatus

from .progress import StepProgress

if TYPE_CHECKING:
    from digest.nightly.batch import ChunkOutcome
    from digest.runs.progress import RunSummary

DATE = click.DateTime(formats=["%Y-%m-%d"])
LISTS = click.Choice([m.value for m in DigestList])


@dataclass
class BatchOutcome:
    summary: RunSummary
    seconds: float


def make_pipeline(app, **options):
    from digest.nightly.pipeline import Pipeline

    return Pipeline(app.settings, engine=app.engine, redis=app.redis, **options)


def run_batch(app, *, request, processes: int = 1) -> BatchOutcome:
    """Plan a run (a digest.runs.RunRequest) with its chunks, work every chunk here (on
    ``processes`` local processes) with a progress bar, and finish it the way the
    scheduler does: temporary failures go round again, up to the schedule's max_attempts."""
    from digest.nightly.batch import Verdict, finish_here, work_here
    from digest.nightly.parallel import process_chunks
    from digest.runs.finishing import FinishPolicy
    from digest.runs.planning import run_plan
    from digest.runs.runtime import schedule_get

    schedule = schedule_get(app.engine)
    timeout = dt.timedelta(seconds=schedule.chunk_timeout)
    # Nobody else works on this run: a claim of it still open once every chunk is done
    # belongs to a process that died, and is taken over at once.
    policy = FinishPolicy(
        stale_after=dt.timedelta(0), max_attempts=schedule.max_attempts, chunk_size=request.chunk_size
    )
    pipeline = make_pipeline(app) if processes == 1 else None
    started = time.perf_counter()
    try:
        plan = run_plan(app.engine, request)
        with StepProgress(unit="digests") as progress:
            done = 0
            progress("digests", done, plan.planned)

            def work(chunk_ids) -> None:
                nonlocal done
                outcomes: Iterable[ChunkOutcome]
                if pipeline is not None:
                    outcomes = (work_here(pipeline, chunk_id=chunk_id, timeout=timeout) for chunk_id in chunk_ids)
                else:
                    outcomes = process_chunks(app.settings, chunk_ids=chunk_ids, processes=processes, timeout=timeout)
                for outcome in outcomes:
                    if outcome.verdict == Verdict.PAUSED:
                        raise click.ClickException(
                            f"run {plan.run_id} was paused; `lanyard runs resume {plan.run_id}` sends the rest through "
                            f"the workers, or `lanyard runs cancel {plan.run_id}` and run again"
                        )
                    done = min(done + outcome.size, plan.planned)
                    progress("digests", done, plan.planned)
                    if outcome.result is not None and outcome.result.cancelled:
                        break

            work(plan.chunk_ids)
            finishing = finish_here(app.engine, run_id=plan.run_id, policy=policy, work=work)
    finally:
        if pipeline is not None:
            pipeline.close()
    if finishing.summary is None:
        raise click.ClickException(
            f"run {plan.run_id} has work left that another process holds; `lanyard runs show {plan.run_id}` says more"
        )
    return BatchOutcome(summary=finishing.summary, seconds=time.perf_counter() - started)


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
    from digest.runs.planning import RunRequest

    digest_date = digest_date.date() if digest_date else dt.date.today()
    request = RunRequest(
        digest_date=digest_date, list_name=list_name, dry_run=dry_run, limit=limit, chunk_size=chunk_size
    )
    outcome = run_batch(app, request=request, processes=processes)
    echo_summary(outcome, list_name=list_name, digest_date=digest_date)
    mail = app.settings.mail
    if mail.scheme == "maildir" and not dry_run:
        click.echo(f"outbox: {mail.path}")


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


@digest.command()
@click.option("--subscriber", "handle", required=True, help="Handle of the subscribing person.")
@click.option("--date", "digest_date", type=DATE, help="Digest date [default: today].")
@click.option("--list", "list_name", type=LISTS, default=DigestList.DAILY.value, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder [default: <data>/previews].")
@click.pass_obj
def preview(app, handle, digest_date, list_name, out):
    """Write the .eml and .html of the digest a subscriber would get (nothing is sent or recorded)."""
    digest_date = digest_date.date() if digest_date else dt.date.today()
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

    digest_date = digest_date.date() if digest_date else dt.date.today()
    pipeline = make_pipeline(app)
    try:
        result = explain_event(
            app.engine, app.redis, prefix=app.settings.redis_prefix, strategy=pipeline.strategy,
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
