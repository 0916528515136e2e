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
from collections.abc import Mapping
from typing import Any

from celery import shared_task
from sqlalchemy import func, select

from digest.accounts.env import AccountsEnv
from digest.accounts.errors import AccountError, ProviderUnavailable
from digest.accounts.imports import follows_import, follows_refresh_due
from digest.faults import backoff
from digest.graph.store import Graph
from digest.ops.snapshot import ops_snapshot
from digest.sealed import Sealer, Unsealable
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName

from .budget import BudgetedHttp, ProviderBudget
from .context import WorkerContext, context

log = logging.getLogger("lanyard.follows")

ATTEMPTS = 3
REFRESH_INTERVAL_SECONDS = 600.0  # beat's period for refresh_due (scheduler/app.py)
CATCH_UP = 2  # a tick may send this many times its even share, so a backlog drains


def _live(ctx: WorkerContext) -> Mapping[str, Any]:
    return ops_snapshot(ctx.redis, ctx.engine, prefix=ctx.settings.redis.prefix).settings


def _account(ctx: WorkerContext, account_id: int) -> tuple[str, str | None] | None:
    """The account's provider and its user token (Mastodon's, opened); None: no such account."""
    a, t = db.account, db.account_token
    with ctx.engine.connect() as connection:
        row = connection.execute(
            select(a.c.provider, t.c.token_sealed).select_from(a.outerjoin(t, t.c.account_id == a.c.id))
            .where(a.c.id == account_id)
        ).first()
    if row is None:
        return None
    if row.token_sealed is None:
        return row.provider, None
    try:
        return row.provider, Sealer(ctx.settings.secret_keys).open(row.token_sealed)
    except Unsealable:
        log.warning("account %s: its token was sealed under a secret key no longer configured", account_id)
        return row.provider, None


def _env(ctx: WorkerContext, budget: ProviderBudget, provider: str) -> AccountsEnv:
    http = BudgetedHttp(ctx.http, lambda: budget.take(provider))
    return AccountsEnv.from_settings(ctx.settings, engine=ctx.engine, http=http,
                                     graph=Graph(ctx.redis, ctx.settings.redis.prefix))


# The client's deadline bounds each page; the limit is a last resort against a list that never ends.
@shared_task(bind=True, name=TaskName.FOLLOWS_IMPORT, max_retries=ATTEMPTS - 1, acks_late=True, ignore_result=True,
             time_limit=1800)
def import_follows(self, account_id: int):
    """Fetch one account's follow list and replace that source's follows of its person."""
    ctx = context(self)
    keys = RedisKeys(ctx.settings.redis.prefix)
    budget = ProviderBudget(ctx.redis, keys, lambda: _live(ctx))
    retrying = False
    try:
        found = _account(ctx, int(account_id))
        if found is None:
            return f"account {account_id}: gone (disconnected meanwhile)"
        provider, token = found
        result = follows_import(_env(ctx, budget, provider), account_id=int(account_id),
                                now=dt.datetime.now(dt.UTC), token=token or "")
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
    waited = f" (waited {budget.waited:.0f}s for the budget)" if budget.waited else ""
    return (f"account {account_id}: fetched {result.fetched}, matched {result.matched}, "
            f"changed {result.changed}{waited}")


@shared_task(bind=True, name=TaskName.FOLLOWS_REFRESH_DUE, acks_late=True, ignore_result=True)
def refresh_due(self):
    """Send the imports of this interval's share of the lists older than follows_refresh_hours."""
    ctx = context(self)
    hours = int(_live(ctx)["follows_refresh_hours"])
    total = _accounts_total(ctx)
    share = max(1, math.ceil(total * REFRESH_INTERVAL_SECONDS / (hours * 3600))) * CATCH_UP
    env = AccountsEnv.from_settings(ctx.settings, engine=ctx.engine, http=ctx.http,
                                    graph=Graph(ctx.redis, ctx.settings.redis.prefix))
    chosen = follows_refresh_due(env, now=dt.datetime.now(dt.UTC), limit=share)
    if not chosen:
        return "no follow lists due"
    step = REFRESH_INTERVAL_SECONDS / len(chosen)
    for n, account_id in enumerate(chosen):
        ctx.enqueue.follows_import(account_id, countdown=n * step)
    return f"{len(chosen)} follow lists due, sent over {REFRESH_INTERVAL_SECONDS:.0f}s (every {hours}h, {total} in all)"


def _accounts_total(ctx: WorkerContext) -> int:
    with ctx.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(db.account)).scalar_one())
