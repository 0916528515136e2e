"""Parsers of the mail settings: the transport URL and the DKIM key."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from digest.config.errors import ConfigError
from digest.config.scalars import parse_bool
from digest.config.settings import DkimKey, MailURL

_VAR = "LANYARD_MAIL_URL"
DKIM_VARIABLES = ("LANYARD_DKIM_SELECTOR", "LANYARD_DKIM_DOMAIN", "LANYARD_DKIM_KEY_FILE")


def parse_mail_url(url: str) -> MailURL:
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        path = unquote(parts.netloc + parts.path)
        if not path.strip("/"):
            raise ConfigError(_VAR, f"{url!r} names no folder; use maildir:///path/to/outbox")
        return MailURL(url=url, scheme="maildir", path=Path(path).expanduser().absolute())
    if parts.scheme in ("smtp", "smtps"):
        return _parse_smtp(url, parts)
    raise ConfigError(
        _VAR,
        f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use maildir:///path, smtp://host:port or smtps://host:port",
    )


def _parse_smtp(url: str, parts: SplitResult) -> MailURL:
    if not parts.hostname:
        raise ConfigError(_VAR, f"{url!r} names no host; use smtp://user:password@host:587?starttls=true")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ConfigError(_VAR, f"{url!r} has a port that is not a number") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    starttls = parse_bool(_VAR, "starttls", query.pop("starttls", "false"))
    try:
        timeout = float(query.pop("timeout", "30"))
    except ValueError:
        raise ConfigError(_VAR, "timeout must be a number of seconds") from None
    if query:
        raise ConfigError(_VAR, f"unknown option(s) {', '.join(sorted(query))}; known: starttls, timeout")
    return MailURL(
        url=url, scheme=parts.scheme, host=parts.hostname, port=port, user=unquote(parts.username or ""),
        password=unquote(parts.password or ""), starttls=starttls, timeout=timeout,
    )


def parse_dkim(selector: str, domain: str, key_file: str) -> DkimKey | None:
    """All three DKIM variables, or none of them; the key must be a readable PEM RSA key."""
    missing = [name for name, value in zip(DKIM_VARIABLES, (selector, domain, key_file), strict=True) if not value]
    if len(missing) == len(DKIM_VARIABLES):
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
    return DkimKey(selector=selector, domain=domain.lower(), key_file=path, private_key_pem=_read_pem_key(path))


def _read_pem_key(path: Path) -> bytes:
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
    return pem
