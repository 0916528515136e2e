"""Parsers of the stores' URLs: the database, Redis, the Celery broker and search."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digest.config.errors import ConfigError, masked
from digest.config.files import from_checkout
from digest.config.scalars import require_port
from digest.config.settings import DatabaseURL

BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "unix", "amqp", "amqps", "pyamqp")


def parse_database_url(url: str, *, variable: str = "LANYARD_DATABASE_URL") -> DatabaseURL:
    """Parsed by SQLAlchemy's ``make_url``: percent-encoded passwords, ``[IPv6]`` hosts, query options."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        problem = f"unknown scheme in {masked(url)!r}; use sqlite:///path or postgresql://user:password@host:5432/db"
        raise ConfigError(variable, problem) from None
    except ValueError:
        raise ConfigError(variable, f"{masked(url)!r} has a port that is not a number") from None
    scheme = parsed.drivername.split("+")[0]
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path.
        if not (parsed.database or "").strip("/"):
            raise ConfigError(variable, f"{url!r} names no file; use sqlite:////absolute/path.sqlite3")
        return DatabaseURL(url=url, backend="sqlite", path=from_checkout(Path(parsed.database or "").expanduser()))
    if scheme in ("postgres", "postgresql"):
        if not parsed.database:
            raise ConfigError(variable, f"{masked(url)!r} names no database; use postgresql://user@host:5432/dbname")
        options = tuple(
            sorted((key, value if isinstance(value, str) else value[-1]) for key, value in parsed.query.items())
        )
        return DatabaseURL(
            url=url, backend="postgresql", name=parsed.database, user=parsed.username or "",
            password=parsed.password or "", host=parsed.host or "", port=parsed.port, options=options,
        )
    problem = f"unknown scheme {parsed.drivername!r} in {masked(url)!r}; use sqlite:///path or postgresql://…"
    raise ConfigError(variable, problem)


def parse_redis_url(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            "LANYARD_REDIS_URL",
            f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use redis://host:6379/0, rediss:// or unix:///path",
        )
    require_port("LANYARD_REDIS_URL", url)
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError("LANYARD_REDIS_URL", f"{url!r} names no host")
    return url


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
    require_port("LANYARD_BROKER_URL", url)
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
        return _parse_solr_nodes(url)
    raise ConfigError(
        "LANYARD_SEARCH_URL",
        f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use tantivy:///path or http(s)://solr-host:8983/solr/lanyard",
    )


def _parse_solr_nodes(url: str) -> str:
    """Solr: the core or collection (alias) on one node, or on several, comma-separated."""
    nodes = [node.strip().rstrip("/") for node in url.split(",")]
    for node in nodes:
        node_parts = urlsplit(node)
        if node_parts.scheme not in ("http", "https") or not node_parts.hostname:
            raise ConfigError("LANYARD_SEARCH_URL", f"{node!r} in {url!r} names no http(s) host")
        if not node_parts.path.strip("/"):
            raise ConfigError("LANYARD_SEARCH_URL", f"{node!r} names no core or collection; use http(s)://host:8983/solr/lanyard")
    return ",".join(nodes)
