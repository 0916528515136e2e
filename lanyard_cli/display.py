"""How the commands show a run: a live progress bar and a printed summary."""

from __future__ import annotations

import click

from digest.vocabulary import ACTIVE_RUN_STATUSES, DeliveryFeedback

from .app import LANYARD, one_line_errors


class ProgressBar:
    """A tqdm bar fed with RunSummary snapshots (silent when stderr is not a terminal)."""

    def __enter__(self):
        self.bar = None
        return self

    def update(self, progress) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=progress.planned, desc=f"run {progress.run_id}", unit="digests", disable=None, leave=True
            )
        self.bar.total = progress.planned
        self.bar.n = progress.processed
        eta = "?" if progress.eta is None else f"{progress.eta:.0f}s"
        self.bar.set_postfix_str(
            f"{progress.status}, sent {progress.sent}, skipped {progress.skipped}, "
            f"failed {progress.failed + progress.bounced}, eta {eta}",
            refresh=False,
        )
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def print_progress(p) -> None:
    eta = "-" if p.eta is None else ("done" if p.eta == 0 and p.status not in ACTIVE_RUN_STATUSES else f"{p.eta:.0f} s")
    click.echo(
        f"run {p.run_id}: {p.list} digest for {p.digest_date:%Y-%m-%d}, {p.status}{' (dry run)' if p.dry_run else ''}"
    )
    click.echo(
        f"  planned {p.planned}, sent {p.sent}, skipped {p.skipped}, failed {p.failed}, bounced {p.bounced}, "
        f"in flight {p.in_flight}"
    )
    click.echo(f"  chunks {p.chunks_done}/{p.chunks_total}, {p.rate:.1f} digests/s over {p.elapsed:.1f} s, eta {eta}")
    if p.feedback:
        hard, soft, complaints = (
            p.feedback.get(kind, 0)
            for kind in (DeliveryFeedback.HARD_BOUNCE, DeliveryFeedback.SOFT_BOUNCE, DeliveryFeedback.COMPLAINT)
        )
        click.echo(f"  reports since: {hard} hard bounced, {soft} soft bounced, {complaints} complained")
    if p.notes:
        click.echo("  notes:")
        for line in p.notes.splitlines()[-10:]:
            click.echo(f"    {line}")


def watch_with_a_worker(app, *, run_id: int, concurrency: int | None = None):
    """Watch a started run to its end with a progress bar, starting a worker for it when none runs."""
    from scheduler.local import OwnWorker, WorkerStopped, wait_with_a_worker

    own = OwnWorker(app.settings.data_dir, LANYARD, concurrency)
    with ProgressBar() as bar, one_line_errors((WorkerStopped,)):
        return wait_with_a_worker(app.engine, app.celery, run_id=run_id, own=own, on_progress=bar.update,
                                  say=click.echo)
