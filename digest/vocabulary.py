"""The words lanyard stores and passes around, each defined once.

Lists, statuses, roles and delivery outcomes are ``StrEnum``s: a member *is* its string,
so it goes into a database column, a JSON payload or a Redis value unchanged and compares
equal to what comes back. The site's ``TextChoices`` hold the same values (a test,
``tests/digest/test_vocabulary.py``, fails when the two drift apart). Task names and the
URL paths of the unsubscribe endpoint are here too, so the modules that send, route,
schedule and serve them cannot disagree. This module imports nothing of lanyard: it is
the bottom layer.
"""

from __future__ import annotations

from enum import StrEnum


class DigestList(StrEnum):
    """The mailing lists a person can subscribe to (``Subscription.List``)."""

    DAILY = "daily"
    WEEKLY = "weekly"


class SubscriptionStatus(StrEnum):
    """``Subscription.Status``: only active subscriptions get digests."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCING = "bouncing"  # a permanent delivery failure; mail stops until it is fixed


class SubscriptionAction(StrEnum):
    """``UnsubscribeEvent.Action``: what a link (or the site, or an operator) did.

    Also the purpose of a signed link token (each purpose signs with its own salt).
    """

    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"


class ChangeVia(StrEnum):
    """``UnsubscribeEvent.Via``: where a subscription change came from."""

    LINK = "link"  # the link in an email
    ONE_CLICK = "one_click"  # the List-Unsubscribe-Post header (RFC 8058)
    SITE = "site"
    ADMIN = "admin"
    COMPLAINT = "complaint"  # a spam complaint (ARF feedback report; digest/bounces/)


class RunStatus(StrEnum):
    """``DigestRun.Status``: where a nightly run is."""

    PLANNED = "planned"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    FAILED = "failed"


# A run in one of these still has work to do (shown as active, may take chunks).
ACTIVE_RUN_STATUSES = (RunStatus.PLANNED, RunStatus.RUNNING, RunStatus.PAUSED)


class ChunkStatus(StrEnum):
    """``DigestChunk.Status``: one Celery task's share of a run."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"  # failed for a reason a retry would not cure; its deliveries are marked failed


class DeliveryStatus(StrEnum):
    """``Delivery.Status``: the ledger row of one subscription and digest date.

    Also the outcome of one send: ``SENT``, ``FAILED`` (temporary, retried) or
    ``BOUNCED`` (permanent; the subscription is marked bouncing).
    """

    CLAIMED = "claimed"  # a worker holds it and is sending
    SENT = "sent"
    SKIPPED = "skipped"  # nothing new, or unsubscribed meanwhile
    FAILED = "failed"  # temporary failure; retried
    BOUNCED = "bounced"  # permanent failure


class DeliveryFeedback(StrEnum):
    """``Delivery.Feedback``: the most serious report that came back about a sent delivery."""

    NONE = ""
    SOFT_BOUNCE = "soft_bounce"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"


class FeedbackKind(StrEnum):
    """``DeliveryFeedback.Kind``: what one bounce or complaint report says (digest/bounces/)."""

    SOFT_BOUNCE = "soft_bounce"  # a 4.x.x status: counted
    HARD_BOUNCE = "hard_bounce"  # a 5.x.x status: the subscription is bouncing
    COMPLAINT = "complaint"  # an abuse or fraud feedback report: unsubscribed


class FeedbackDecision(StrEnum):
    """``DeliveryFeedback.Decision``: what lanyard did about a report."""

    BOUNCING = "bouncing"
    COUNTED = "counted"
    UNSUBSCRIBED = "unsubscribed"
    NO_CHANGE = "no_change"


class FeedbackMatch(StrEnum):
    """``DeliveryFeedback.MatchedBy``: how a report was tied to its delivery."""

    RETURN_PATH = "return_path"  # the signed return path (VERP) it was sent to
    MESSAGE_ID = "message_id"  # the Message-ID it quotes, found in the ledger


# Ledger states a later run never touches again.
FINAL_DELIVERY_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.BOUNCED)


class Role(StrEnum):
    """``Attendance.Role``: how a person is at an event."""

    ATTENDING = "attending"
    SPEAKING = "speaking"
    TRACKING = "tracking"  # interested, not going: not part of the digest's graph


# Roles that put a person into an event's part of the graph (and into digests).
GRAPH_ROLES = (Role.ATTENDING, Role.SPEAKING)


class CoverageKind(StrEnum):
    """``Coverage.Kind``: what a link about a talk or an event is."""

    SLIDES = "slides"
    VIDEO = "video"
    NOTES = "notes"
    WRITEUP = "writeup"


class CoverageStatus(StrEnum):
    """``Coverage.Status``: where fetching a pasted link is."""

    FETCHING = "fetching"  # stored; the fetch task has not finished with it yet
    OK = "ok"
    FAILED = "failed"  # kept, titled by its URL, the reason (a LinkFailure) in ``failure``
    REFUSED = "refused"  # the guarded client would not fetch it: shown to its author only


class LinkFailure(StrEnum):
    """``Coverage.failure``: why a pasted link could not be read, one reason each; the
    words a person is shown are ``digest/coverage/failures.py``'s."""

    NOT_FOUND = "not found"  # the host name does not resolve
    TIMED_OUT = "timed out"
    CONNECTION_REFUSED = "connection refused"
    CONNECTION_FAILED = "connection failed"  # reset, unreachable, closed early
    TLS = "tls"  # the certificate or the handshake failed
    TOO_LARGE = "too large"
    TOO_MANY_REDIRECTS = "too many redirects"
    MALFORMED = "malformed"  # not a valid HTTP answer, or a body that does not decode
    PAGE_MISSING = "page missing"  # HTTP 404, 410
    FORBIDDEN = "forbidden"  # HTTP 401, 403, 451
    SITE_ERROR = "site error"  # HTTP 5xx
    BUSY = "busy"  # HTTP 429
    HTTP_ERROR = "http error"  # any other HTTP status that is not an answer
    # Refused before any request: the link's status is then ``refused``.
    PRIVATE_ADDRESS = "private address"  # loopback, private, link-local, reserved
    PORT = "port"  # a port other than 80 and 443
    NOT_A_WEB_ADDRESS = "not a web address"  # no http(s), no host, credentials, a bad redirect


class Provider(StrEnum):
    """``Account.Provider``: the networks a person's account can be on (``digest/accounts/``)."""

    GITHUB = "github"
    MASTODON = "mastodon"  # and the servers that speak its API: Pleroma, Akkoma, GoToSocial
    BLUESKY = "bluesky"


class FollowSource(StrEnum):
    """``Follow.Source``: where a follow came from. One ``follow`` row per (pair, source).

    A pair followed on the site and on GitHub has two rows; removing one source keeps
    the other, and the pair is in the Redis graph while any row for it remains.
    """

    MANUAL = "manual"  # made on the site (or by the seed, or an operator)
    GITHUB = "github"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"


# The follow source each provider's imported lists make.
PROVIDER_SOURCE = {provider: FollowSource(provider.value) for provider in Provider}


class VerifiedVia(StrEnum):
    """``Account.VerifiedVia``: how a person proved an account is theirs ("" when unverified)."""

    OAUTH = "oauth"  # signed in with the provider
    REL_ME = "rel_me"  # the account's profile links back to the person page with rel="me"
    DOMAIN_HANDLE = "domain_handle"  # a Bluesky handle on the person's own domain (/.well-known/atproto-did)


# URL paths of the unsubscribe endpoint (unsubscribe_web), each followed by a token of
# that purpose. The emails link to them; the endpoint routes them.
URL_PATHS = {SubscriptionAction.UNSUBSCRIBE: "/u/", SubscriptionAction.RESUBSCRIBE: "/r/"}
UNSUBSCRIBE_PATH = URL_PATHS[SubscriptionAction.UNSUBSCRIBE]
RESUBSCRIBE_PATH = URL_PATHS[SubscriptionAction.RESUBSCRIBE]
MANAGE_PATH = "/subscriptions/"  # on the site: every subscription of the signed-in person


class TaskName(StrEnum):
    """Celery task names: registered by ``scheduler``, sent by the CLI, the site and beat."""

    TICK = "lanyard.scheduler.tick"
    PLAN = "lanyard.scheduler.plan"
    PROCESS_CHUNK = "lanyard.scheduler.process_chunk"
    FINISH_RUN = "lanyard.scheduler.finish_run"
    SWEEP = "lanyard.scheduler.sweep"
    SEARCH_INDEX_PENDING = "lanyard.search.index_pending"
    COVERAGE_FETCH = "lanyard.coverage.fetch"
    COVERAGE_REVALIDATE = "lanyard.coverage.revalidate"
    FOLLOWS_IMPORT = "lanyard.follows.import"
    FOLLOWS_REFRESH_DUE = "lanyard.follows.refresh_due"


class Store(StrEnum):
    """The copies a page may find away; the site answers from the database without them."""

    REDIS = "redis"  # the shared cache, the ops state, the graph's server
    GRAPH = "graph"  # the people-you-follow copy (Redis up, the graph not built)
    SEARCH = "search"
