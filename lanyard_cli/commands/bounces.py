"""`lanyard bounces process` and `lanyard bounces serve`: bounce and complaint reports."""

from __future__ import annotations

import logging
import signal
import threading

import click


@click.group()
def bounces():
    """Bounce (DSN) and complaint (ARF) reports: read a mailbox, or listen over SMTP."""


def _processor(app):
    from digest.bounces.process import FeedbackProcessor

    return FeedbackProcessor.from_settings(app.settings, engine=app.engine, redis=app.redis)


@bounces.command("process")
@click.option("--from", "source", required=True, metavar="URL",
              help="maildir:///path, or imaps://user:password@host[:port]/FOLDER (imap:// without TLS).")
@click.option("-v", "--verbose", is_flag=True, help="Log every report's decision, not only a summary.")
@click.pass_obj
def process_command(app, source, verbose):
    """Read the new reports of a mailbox, record what they change, mark them seen."""
    from digest.bounces.sources import MailboxError, parse_mailbox_url, process_mailbox

    try:
        mailbox = parse_mailbox_url(source)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--from") from None
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(message)s")
    try:
        totals = process_mailbox(_processor(app), mailbox)
    except MailboxError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"read {totals.read} message(s): {totals.recorded} recorded, {totals.dropped} dropped")
    for decision, count in sorted(totals.decisions.items()):
        click.echo(f"  {decision}: {count}")
    for reason, count in sorted(totals.reasons.items()):
        click.echo(f"  dropped, {reason}: {count}")


@bounces.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: every one).")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
def serve_command(app, host, port):
    """Take reports over SMTP as they arrive (for the bounce domain's MX); Ctrl-C or SIGTERM stops it."""
    from digest.bounces.listener import make_listener

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    listener = make_listener(_processor(app), host=host, port=port)
    try:
        listener.start()
    except (OSError, RuntimeError) as error:
        raise click.ClickException(f"cannot listen on {host}:{port} ({error}); pick another --port") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"taking reports for {app.settings.mail.bounce_domain} on smtp://{host}:{port} (Ctrl-C stops it)")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    click.echo("stopped")


COMMANDS = [bounces]
