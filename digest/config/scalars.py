"""Parsers of single values: numbers, seconds, names, domains, http(s) URLs and networks."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from digest.config.errors import ConfigError
from digest.config.settings import Network

_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def parse_choice(variable: str, value: str, choices: tuple[str, ...]) -> str:
    lowered = value.lower()
    if lowered not in choices:
        raise ConfigError(variable, f"must be one of {', '.join(choices)}, not {lowered!r}")
    return lowered


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


def parse_seconds(variable: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(variable, f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= 600:
        raise ConfigError(variable, f"must be between 0 and 600 seconds, not {value}")
    return seconds


def parse_bool(variable: str, option: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(variable, f"{option} must be true or false, not {value!r}")


def parse_http_url(variable: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, f"{url!r} is not an http(s) URL (e.g. https://lanyard.example.com)")
    return url.rstrip("/")


def parse_proxy_url(url: str) -> str:
    """``LANYARD_HTTP_PROXY``: an http(s) egress proxy such as Smokescreen, or empty."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("LANYARD_HTTP_PROXY", f"{url!r} is not an http(s) proxy URL (e.g. http://smokescreen:4750)")
    require_port("LANYARD_HTTP_PROXY", url)
    return url


def require_port(variable: str, url: str) -> None:
    """A port that is not a number is an error (reading ``.port`` is what raises ValueError)."""
    try:
        _ = urlsplit(url).port
    except ValueError:
        raise ConfigError(variable, f"{url!r} has a port that is not a number") from None


def parse_networks(value: str, *, variable: str = "LANYARD_HTTP_ALLOW_NETWORKS") -> tuple[Network, ...]:
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


def parse_sentry_dsn(dsn: str) -> str:
    if not dsn:
        return ""
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username or not parts.path.strip("/"):
        raise ConfigError("SENTRY_DSN", "is not a Sentry DSN (e.g. https://key@o1.ingest.sentry.io/42)")
    return dsn
