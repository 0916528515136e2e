"""The unsubscribe endpoint: a WSGI application without Django.

``GET /u/<token>`` asks, ``POST /u/<token>`` unsubscribes (a mail client's RFC 8058
one-click POST or the page's own button); ``/r/<token>`` does the same for
resubscribing. It keeps no state of its own: scale it by running more copies.

A change is queued durably in Redis together with the suppression set (one script call for
every unsubscribe of a group commit, see groupcommit.py) and the person is told it
worked; the process's queue applier (applier.py) writes the queue to the database in
batches right after. When Redis cannot take an unsubscribe, it is written to the
database directly; when neither can, the answer is an honest 503. This WSGI
application serves the development servers (``lanyard serve unsubscribe``, the
site's); production serves the same logic as ASGI (asgi.py)::

    gunicorn -c python:unsubscribe_web.gunicorn_conf 'unsubscribe_web.asgi:create_asgi_app()'
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import sys

import redis as redis_lib
import sqlalchemy.exc

from digest.config import ConfigError, Settings, load_settings
from digest.links import manage_link
from digest.ops.health import check, database_probe, readiness, redis_probe
from digest.ops.logs import init_sentry
from digest.ops.readonly import read_only_get
from digest.stores.db import make_engine
from digest.stores.redis_store import connect
from digest.subscriptions import (
    SubscriptionCard,
    SubscriptionChange,
    SubscriptionNotFound,
    subscription_get,
    subscription_suppress_many,
    subscription_unsubscribe_many,
)
from digest.tokens import SubscriptionRef, TokenError, TokenSigner
from digest.unsubscribe_queue import subscription_change_enqueue, subscription_changes_enqueue
from digest.vocabulary import URL_PATHS, ChangeVia, SubscriptionAction, SubscriptionStatus

from . import pages
from .applier import QueueApplier
from .forms import BadBody, BodyTooLarge, is_one_click, read_body
from .groupcommit import CommitTimeout, GroupCommitter

log = logging.getLogger("lanyard.unsubscribe_web")

MAX_URL = 2048  # path and query; a real link is about 60 characters
# How long a request waits for its group's write before queueing its change on its own
# instead (a replay of a change that was written meanwhile writes nothing).
COMMIT_DEADLINE = 10.0
MAX_SUBSCRIPTION_ID = 2**63 - 1  # a bigint column: a larger id cannot name a subscription
PURPOSES = {path: purpose for purpose, path in URL_PATHS.items()}

# The database cannot take the write right now (down, read-only during a deploy,
# schema being migrated, pool exhausted): queue the change instead.
DATABASE_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.InternalError,
    sqlalchemy.exc.ProgrammingError,
    sqlalchemy.exc.TimeoutError,
)


class ReadOnlyNow(RuntimeError):
    """Read-only mode is on: the change is queued for the replay, like a database outage."""


# A write that failed this way is queued for the replay instead.
WRITE_FAILED = (ReadOnlyNow, CommitTimeout, *DATABASE_UNAVAILABLE)


class Outcome(enum.Enum):
    DONE = "done"  # durably queued for the database, or in it
    QUEUED = "queued"  # queued on its own after its group's write failed
    UNKNOWN = "unknown"  # no such subscription
    UNAVAILABLE = "unavailable"  # recorded nowhere: the person must try again


class UnsubscribeApp:
    def __init__(
        self, settings: Settings, *, engine=None, redis: redis_lib.Redis | None = None, pool_size: int = 8,
        group_linger: float = 0.002,
    ):
        self.settings = settings
        self.signer = TokenSigner(settings.secret_keys)
        self.prefix = settings.redis.prefix
        self.manage_url = manage_link(settings)
        self.engine = engine if engine is not None else _make_engine(settings, pool_size)
        # Short timeouts: a person is waiting, and a dead Redis must turn into a 503
        # quickly rather than hang the worker.
        self.redis = redis if redis is not None else connect(
            settings, socket_timeout=2, socket_connect_timeout=2, max_connections=pool_size * 4,
        )
        # Unsubscribes of concurrent requests share one write (see groupcommit.py).
        self.commits: GroupCommitter[tuple[int, str], bool] = GroupCommitter(
            self._unsubscribe_group, linger=group_linger,
        )
        self.applier = QueueApplier(self.engine, self.redis, prefix=self.prefix)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            response = self.respond(environ, method)
        except Exception:
            # Tokens are secrets: log the route, never the path.
            log.exception("unsubscribe endpoint: unexpected error on %s %s…", method, environ.get("PATH_INFO", "")[:3])
            response = pages.server_error()
        start_response(response.status, response.headers())
        return [b"" if method == "HEAD" else response.body]

    def respond(self, environ, method: str) -> pages.Response:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return pages.health(200, {"status": "ok"})
        if path == "/readyz":
            return pages.health(*readiness([
                check("database", database_probe(self.engine)), check("redis", redis_probe(self.redis)),
            ]))
        if len(path) + len(environ.get("QUERY_STRING", "")) > MAX_URL:
            return pages.uri_too_long()
        purpose = PURPOSES.get(path[:3])
        if purpose is None:
            return pages.not_found()
        if method not in ("GET", "HEAD", "POST"):
            return pages.method_not_allowed()
        if method == "POST" and purpose == SubscriptionAction.UNSUBSCRIBE:
            with self.commits.expect():  # the committer waits for this request's write
                return self.post(environ, purpose)
        if method == "POST":
            return self.post(environ, purpose)
        return self.get(path, purpose)

    def post(self, environ, purpose: str) -> pages.Response:
        try:
            body = read_body(environ)
        except BodyTooLarge:
            return pages.body_too_large()
        except BadBody:
            return pages.bad_request()
        ref = self.verify(environ.get("PATH_INFO", ""), purpose)
        if ref is None:
            return pages.broken_link(manage_url=self.manage_url)
        via = ChangeVia.ONE_CLICK if is_one_click(environ.get("CONTENT_TYPE", ""), body) else ChangeVia.LINK
        return self.change(ref, purpose, via)

    def get(self, path: str, purpose: str) -> pages.Response:
        ref = self.verify(path, purpose)
        if ref is None:
            return pages.broken_link(manage_url=self.manage_url)
        return self.confirm(ref, purpose)

    def verify(self, path: str, purpose: str) -> SubscriptionRef | None:
        """The subscription a link names; None for a broken link."""
        try:
            ref = self.signer.verify(purpose, path[3:])
        except TokenError as error:
            log.info("unsubscribe endpoint: refused a %s link: %s", purpose, type(error).__name__)
            return None
        return ref if ref.subscription_id <= MAX_SUBSCRIPTION_ID else None

    def confirm(self, ref: SubscriptionRef, purpose: str) -> pages.Response:
        """The page a GET shows: reads only, never writes."""
        try:
            card = subscription_get(self.engine, subscription_id=ref.subscription_id)
        except DATABASE_UNAVAILABLE as error:
            # Still offer the button, without the address: a POST is queued meanwhile.
            log.warning("unsubscribe endpoint: database unavailable for a confirmation page (%s)", _brief(error))
            card = SubscriptionCard(ref.subscription_id, ref.list_name, email=None, status=None)
        if card is None:
            return pages.broken_link(manage_url=self.manage_url)
        if purpose == SubscriptionAction.UNSUBSCRIBE:
            already = card.status == SubscriptionStatus.UNSUBSCRIBED
            return pages.confirm_unsubscribe(
                list_name=card.list_name, email=card.email, already=already,
                token_for_resubscribe=self.signer.sign(SubscriptionAction.RESUBSCRIBE, ref) if already else "",
                manage_url=self.manage_url,
            )
        return pages.confirm_resubscribe(list_name=card.list_name, email=card.email, manage_url=self.manage_url)

    def change(self, ref: SubscriptionRef, purpose: str, via: str) -> pages.Response:
        if purpose == SubscriptionAction.UNSUBSCRIBE:
            outcome = self.unsubscribe(ref, via)
        else:
            outcome = self.resubscribe(ref, via)
        return self.answer(ref, purpose, outcome)

    def answer(self, ref: SubscriptionRef, purpose: str, outcome: Outcome) -> pages.Response:
        """The page for a change's outcome."""
        if outcome is Outcome.UNKNOWN:
            return pages.broken_link(manage_url=self.manage_url)
        if outcome is Outcome.UNAVAILABLE:
            return pages.unavailable()
        if purpose == SubscriptionAction.UNSUBSCRIBE:
            return pages.unsubscribed(
                list_name=ref.list_name, token_for_resubscribe=self.signer.sign(SubscriptionAction.RESUBSCRIBE, ref),
                manage_url=self.manage_url,
            )
        return pages.resubscribed(
            list_name=ref.list_name, token_for_unsubscribe=self.signer.sign(SubscriptionAction.UNSUBSCRIBE, ref),
            manage_url=self.manage_url,
        )

    def unsubscribe(self, ref: SubscriptionRef, via: str) -> Outcome:
        try:
            self.commits.submit((ref.subscription_id, via), timeout=COMMIT_DEADLINE)
        except SubscriptionNotFound:
            return Outcome.UNKNOWN
        except WRITE_FAILED as error:
            return self.queue(ref, SubscriptionAction.UNSUBSCRIBE, via, error)
        return Outcome.DONE

    def _unsubscribe_group(self, asks: list[tuple[int, str]]) -> list[bool | SubscriptionNotFound]:
        """The group commit's write: the whole group queued in one script call (durable
        once Redis has it; the applier writes it to the database right after). An error
        raised here reaches every request of the group, which then queues its own change."""
        try:
            subscription_changes_enqueue(self.redis, prefix=self.prefix, changes=self.unsubscribes_asked(asks))
        except redis_lib.RedisError as error:
            return self.unsubscribe_not_queued(asks, error)
        return self.unsubscribe_queued(asks)

    @staticmethod
    def unsubscribes_asked(asks: list[tuple[int, str]]) -> list[SubscriptionChange]:
        """A group's queue entries: each (subscription id, via), asked now."""
        now = dt.datetime.now(dt.UTC)
        return [SubscriptionChange(i, SubscriptionAction.UNSUBSCRIBE, via, now) for i, via in asks]

    def unsubscribe_queued(self, asks: list[tuple[int, str]]) -> list[bool | SubscriptionNotFound]:
        """A group is in the queue: the applier takes it from there."""
        self.applier.poke()
        return [True] * len(asks)

    def unsubscribe_not_queued(
        self, asks: list[tuple[int, str]], error: redis_lib.RedisError,
    ) -> list[bool | SubscriptionNotFound]:
        """Redis did not take a group (``error``): the database instead."""
        log.warning("unsubscribe endpoint: Redis unavailable (%s); %d unsubscribes written to the "
                    "database directly", _brief(error), len(asks))
        return self._unsubscribe_now(asks)

    def _unsubscribe_now(self, asks: list[tuple[int, str]]) -> list[bool | SubscriptionNotFound]:
        """Redis is away: the group in one database statement instead."""
        if read_only_get(self.redis, prefix=self.prefix).on:
            # Read-only mode (a deploy): the database may be migrating.
            raise ReadOnlyNow("lanyard is read-only")
        changed = subscription_unsubscribe_many(self.engine, asks=asks)
        try:
            subscription_suppress_many(self.redis, prefix=self.prefix, subscription_ids=sorted(changed))
        except redis_lib.RedisError:
            # The database has them, so nothing is lost: the next batch's plan skips
            # them; only a batch running right now might still send one more.
            log.warning("unsubscribe endpoint: %d subscriptions unsubscribed, but not added to the "
                        "suppression set", len(changed))
        return [changed[i] if i in changed else SubscriptionNotFound(i) for i, _ in asks]

    def resubscribe(self, ref: SubscriptionRef, via: str) -> Outcome:
        """Queued like an unsubscribe (out of the suppression set in the same script call), so
        it is applied after any unsubscribe of the same subscription still queued."""
        change = SubscriptionChange(ref.subscription_id, SubscriptionAction.RESUBSCRIBE, via, dt.datetime.now(dt.UTC))
        try:
            subscription_change_enqueue(self.redis, prefix=self.prefix, change=change)
        except redis_lib.RedisError as error:
            log.warning("unsubscribe endpoint: cannot resubscribe %d, Redis unavailable (%s)",
                        ref.subscription_id, _brief(error))
            return Outcome.UNAVAILABLE
        self.applier.poke()
        return Outcome.DONE

    def queue(self, ref: SubscriptionRef, action: str, via: str, error: BaseException) -> Outcome:
        """A change whose group write failed (``error``): queued in Redis on its own."""
        change = SubscriptionChange(ref.subscription_id, action, via, dt.datetime.now(dt.UTC))
        try:
            subscription_change_enqueue(self.redis, prefix=self.prefix, change=change)
        except redis_lib.RedisError as redis_error:
            log.error(
                "unsubscribe endpoint: %s of subscription %d recorded nowhere: database (%s) and "
                "Redis (%s) both unavailable",
                action,
                ref.subscription_id,
                _brief(error),
                _brief(redis_error),
            )
            return Outcome.UNAVAILABLE
        self.applier.poke()
        log.warning("unsubscribe endpoint: write failed (%s); %s of subscription %d queued on its own",
                    _brief(error), action, ref.subscription_id)
        return Outcome.QUEUED

    def close(self) -> None:
        """Stop the queue applier (after its pass under way)."""
        self.applier.close()


def create_app(settings: Settings | None = None, **options) -> UnsubscribeApp:
    """The WSGI application; settings from the ``LANYARD_*`` environment by default.

    The development servers' application, and what production's ASGI factory
    (``unsubscribe_web.asgi:create_asgi_app``) wraps: each gunicorn worker process
    builds its own app, engine and Redis connections.
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as error:  # one line, and gunicorn stops ("worker failed to boot") rather than retrying
            print(f"lanyard unsubscribe: configuration: {error}", file=sys.stderr)
            raise SystemExit(3) from None
    if settings.log.sentry_dsn:
        # Errors are logged with log.exception; sentry-sdk's logging integration sends them.
        init_sentry(settings, service="unsubscribe")
    return UnsubscribeApp(settings, **options)


def _make_engine(settings: Settings, pool_size: int):
    options: dict[str, object] = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": 5}
    if settings.database.primary.backend == "postgresql":
        # A down database must become a queued unsubscribe in seconds, not minutes.
        # No pre-ping: a connection that died with the server fails its one request,
        # which is queued, and the pool reconnects. Every statement the endpoint runs on
        # PostgreSQL is one atomic statement: connections stay in autocommit.
        options.update(connect_args={"connect_timeout": 3}, pool_pre_ping=False, isolation_level="AUTOCOMMIT")
    return make_engine(settings.database.primary, **options)


def _brief(error: BaseException) -> str:
    """The first line of an error, for the log."""
    text = str(getattr(error, "orig", None) or error).strip()
    return type(error).__name__ + (": " + text.splitlines()[0] if text else "")
