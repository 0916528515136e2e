import logging

import click


@click.group()
def unsubscribe():
    """Unsubscribes: apply the changes still queued (after an outage); print links."""


@unsubscribe.command()
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Replay at most this many.")
@click.pass_obj
def replay(app, limit):
    """Apply the changes the endpoint queued in Redis that its applier has not written yet
    (after a database outage, or with no endpoint running)."""
    from digest.unsubscribe_queue import unsubscribe_queue_length, unsubscribe_replay

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    prefix = app.settings.redis.prefix
    applied = unsubscribe_replay(app.engine, app.redis, prefix=prefix, limit=limit)
    left = unsubscribe_queue_length(app.redis, prefix=prefix)
    click.echo(f"replayed {applied} queued change(s); {left} still queued")


@unsubscribe.command()
@click.argument("subscription_id", type=click.IntRange(min=1))
@click.pass_obj
def link(app, subscription_id):
    """Print the unsubscribe link of a subscription (as its emails carry it)."""
    from digest.links import unsubscribe_link
    from digest.subscriptions import subscription_get
    from digest.tokens import SubscriptionRef, TokenSigner

    card = subscription_get(app.engine, subscription_id=subscription_id)
    if card is None:
        raise click.ClickException(f"no subscription {subscription_id}")
    signer = TokenSigner(app.settings.secret_keys)
    click.echo(unsubscribe_link(app.settings, signer, SubscriptionRef(card.id, card.list_name)))


COMMANDS = [unsubscribe]
