"""Importing follow lists: one task per account, and the periodic refresh of lists grown old.

The site sends ``lanyard.follows.import`` with an account's id once its link commits (a
sign-in, a connect, "refresh now"); beat sends ``lanyard.follows.refresh_due`` every few
minutes, which picks the accounts whose list is older than the live setting
``follows_refresh_hours`` and sends their imports spread over the next interval, a share
sized so that every list comes round once per period: the day's refreshes are spread over
the day, and the nightly plan reads lists no older than the setting. Every request to a
provider first takes a token from that provider's budget (``budget.py``). The work is
``digest/accounts/`` (fetch every page, then replace the source's follows in one
transaction, or change nothing); these tasks only wire it to the worker's handles.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from celery import shared_task
from sqlalchemy import func, select

from digest.accounts.errors import AccountError, ProviderUnavailable
from digest.accounts.imports import accounts_due, follows_import
from digest.faults import backoff
from digest.ops.state import ops_snapshot
from digest.sealed import Sealer, Unsealable
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName

from .budget import ProviderBudget
from .context import WorkerContext, context

log = logging.getLogger("lanyard.follows")

ATTEMPTS = 3
REFRESH_INTERVAL_SECONDS = 600.0  # beat's period for refresh_due (scheduler/app.py)
CATCH_UP = 2  # a tick may send this many times its even share, so a backlog drains


def _live(ctx: WorkerContext) -> dict:
    return ops_snapshot(ctx.redis, ctx.engine, prefix=ctx.settings.redis_prefix).settings


def _token(ctx: WorkerContext, account_id: int) -> str | None:
    """The account's user token (Mastodon's), opened; None when none is kept or it cannot be opened."""
    t = db.account_token
    with ctx.engine.connect() as connection:
        sealed = connection.execute(select(t.c.token_sealed).where(t.c.account_id == account_id)).scalar()
    if sealed is None:
        return None
    try:
        return Sealer(ctx.settings.secret_keys).open(sealed)
    except Unsealable:
        log.warning("account %s: its token was sealed under a secret key no longer configured", account_id)
        return None


# The client's deadline bounds each page; the limit is a last resort against a list that never ends.
@shared_task(bind=True, name=TaskName.FOLLOWS_IMPORT, max_retries=ATTEMPTS - 1, acks_late=True, ignore_result=True,
             time_limit=1800)
def import_follows(self, account_id: int):
    """Fetch one account's follow list and replace that source's follows of its person."""
    ctx = context(self)
    keys = RedisKeys(ctx.settings.redis_prefix)
    live = _live(ctx)
    budget = ProviderBudget(ctx.redis, keys, lambda: _live(ctx))
    retrying = False
    try:
        result = follows_import(
            ctx.engine, ctx.http, account_id=int(account_id), cap=int(live["follows_cap"]),
            token=_token(ctx, int(account_id)), throttle=budget.take,
        )
    except AccountError as error:
        retrying = isinstance(error, ProviderUnavailable) and self.request.retries < ATTEMPTS - 1
        if retrying:
            raise self.retry(countdown=backoff(self.request.retries, base=30.0, cap=900.0)) from None
        return f"account {account_id}: {error}"
    finally:
        if not retrying:
            try:
                ctx.redis.delete(keys.follows_importing(int(account_id)))
            except Exception:  # the mark expires by itself
                pass
    return f"account {account_id}: {result}" + (f" (waited {budget.waited:.0f}s for the budget)" if budget.waited else "")


@shared_task(bind=True, name=TaskName.FOLLOWS_REFRESH_DUE, acks_late=True, ignore_result=True)
def refresh_due(self):
    """Send the imports of this interval's share of the lists older than follows_refresh_hours."""
    ctx = context(self)
    hours = int(_live(ctx)["follows_refresh_hours"])
    older_than = dt.timedelta(hours=hours)
    due = accounts_due(ctx.engine, older_than=older_than)
    if not due:
        return "no follow lists due"
    total = _accounts_total(ctx)
    share = max(1, math.ceil(total * REFRESH_INTERVAL_SECONDS / older_than.total_seconds())) * CATCH_UP
    chosen = due[:share]
    step = REFRESH_INTERVAL_SECONDS / len(chosen)
    for n, account_id in enumerate(chosen):
        ctx.enqueue.follows_import(account_id, countdown=n * step)
    return f"{len(chosen)} of {len(due)} follow lists due sent (every {hours}h, {total} accounts)"


def _accounts_total(ctx: WorkerContext) -> int:
    with ctx.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(db.account)).scalar_one())
