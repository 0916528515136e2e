"""The one outgoing HTTP client of lanyard, on httpx, with every rule applied by itself.

- Only ``http`` and ``https``; ports 80 and 443 (``HttpConfig.ports``), any port on an
  allowed network; TLS verified against the certifi roots; no credentials in URLs.
- The address check at connect time (``transport.GuardedBackend``): every address the
  name resolves to must be allowed, and the socket goes to that very address.
- Timeouts: connect, read, and one total deadline over the whole fetch (redirects
  included), enforced on every socket operation.
- Size caps enforced while streaming, on decoded bytes: HTML 2 MB, anything else 10 MB;
  gzip and deflate are decoded here with a bound on each step's output, so a gzip bomb
  stops at the cap. A Content-Length over the cap is refused before the body is read.
- Redirects followed here, at most five, each hop checked again like the first.
- Conditional requests: pass the ETag / Last-Modified of the last fetch, get a 304.
- Extra request headers (an API's ``Authorization``); a redirect to another origin drops
  ``Authorization``, so a token never reaches a host it was not meant for. The answer
  carries its response headers (Link, rate limits, Retry-After) for the APIs' clients.
- ``post`` sends a form (OAuth token endpoints, app registration) and follows no redirect.
- One log line per request (method, host, status, bytes, milliseconds, outcome) and an
  optional observer called with the same record (the request profiler's hook).
- ``LANYARD_HTTP_PROXY`` sends everything through an egress proxy (e.g. Smokescreen),
  which then does the address check; scheme, port and size rules still apply here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Self

import httpcore
import httpx

from digest.http.addresses import IPNetwork, allowed_by
from digest.http.errors import Failed, HttpError, Refused, TimedOut, TooLarge
from digest.http.transport import AddressPolicy, GuardedBackend, Resolver, deadline, remaining

log = logging.getLogger("lanyard.http")

MB = 1024 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
CHUNK = 16 * 1024
USER_AGENT = "lanyard/0.1 (link previews for an events site; +https://github.com/lanyard)"


@dataclass(frozen=True)
class HttpConfig:
    allow_networks: tuple[IPNetwork, ...] = ()  # LANYARD_HTTP_ALLOW_NETWORKS
    proxy: str = ""  # LANYARD_HTTP_PROXY
    ports: frozenset[int] = frozenset({80, 443})
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # between two reads
    deadline: float = 20.0  # the whole fetch, redirects included (LANYARD_HTTP_DEADLINE)
    max_html_bytes: int = 2 * MB
    max_bytes: int = 10 * MB
    max_redirects: int = 5
    user_agent: str = USER_AGENT


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the log line and the observer see it."""

    method: str
    url: str
    host: str
    status: int | None
    bytes: int
    milliseconds: float
    outcome: str  # "ok", "not modified", "redirect", "refused", "timed out", "too large", "failed"
    reason: str = ""


Observer = Callable[[RequestRecord], None]


@dataclass(frozen=True)
class Fetched:
    """The final answer of a fetch (after redirects)."""

    url: str
    status: int
    media_type: str  # "text/html", lower case, no parameters
    charset: str  # from Content-Type; "" when it names none
    body: bytes
    etag: str = ""
    last_modified: str = ""
    redirects: tuple[str, ...] = field(default=())  # the URLs redirected through
    headers: Mapping[str, str] = field(default_factory=dict)  # the response's, names in lower case

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HttpClient:
    """Thread-compatible (one per thread or process); close it when done."""

    def __init__(self, config: HttpConfig, *, resolver: Resolver = socket.getaddrinfo,
                 observer: Observer | None = None):
        self.config = config
        self.observer = observer
        policy = AddressPolicy(allow_networks=config.allow_networks, ports=config.ports, check=not config.proxy)
        backend = self._backend = GuardedBackend(policy, resolver)
        ssl_context = httpx.create_ssl_context(verify=True, trust_env=False)
        pool: httpcore.ConnectionPool | httpcore.HTTPProxy
        if config.proxy:
            proxy = httpx.URL(config.proxy)
            pool = httpcore.HTTPProxy(
                proxy_url=httpcore.URL(scheme=proxy.raw_scheme, host=proxy.raw_host, port=proxy.port,
                                       target=proxy.raw_path),
                ssl_context=ssl_context, max_connections=10, network_backend=backend,
            )
        else:
            pool = httpcore.ConnectionPool(ssl_context=ssl_context, max_connections=10, keepalive_expiry=30,
                                           network_backend=backend)
        self._client = httpx.Client(
            transport=_PoolTransport(pool),
            follow_redirects=False,
            trust_env=False,  # HTTP_PROXY and friends are not a way around the rules
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def get(self, url: str, *, etag: str = "", last_modified: str = "", accept: str = "",
            headers: Mapping[str, str] | None = None) -> Fetched:
        """GET ``url`` by the rules; raises :class:`~digest.http.errors.HttpError` subclasses."""
        sent = {"Accept": accept or "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.5",
                **(headers or {})}
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        token = deadline.set(time.monotonic() + self.config.deadline)
        try:
            hops: list[str] = []
            current = url
            while True:
                answer = self._request("GET", current, sent)
                if isinstance(answer, Fetched):
                    return dataclasses.replace(answer, redirects=tuple(hops))
                hops.append(current)
                if len(hops) > self.config.max_redirects:
                    raise Failed(f"too many redirects (more than {self.config.max_redirects})")
                if _origin(answer) != _origin(current):
                    sent = {name: value for name, value in sent.items() if name.lower() != "authorization"}
                current = answer
        finally:
            deadline.reset(token)

    def post(self, url: str, *, form: Mapping[str, str], headers: Mapping[str, str] | None = None,
             accept: str = "application/json") -> Fetched:
        """POST a form to ``url`` by the same rules; a redirect is returned as it is, never followed."""
        sent = {"Accept": accept, **(headers or {})}
        token = deadline.set(time.monotonic() + self.config.deadline)
        try:
            answer = self._request("POST", url, sent, content=form)
        finally:
            deadline.reset(token)
        assert isinstance(answer, Fetched)
        return answer

    def close(self) -> None:
        self._client.close()
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, headers: dict[str, str],
                 content: Mapping[str, str] | None = None) -> Fetched | str:
        """One hop: the final answer, or the next URL of a GET's redirect."""
        hop = _Hop(url, method=method)
        try:
            parsed = self._check_url(url)
            hop.host = parsed.host
            with self._client.stream(method, parsed, headers=headers, data=content) as response:
                status = hop.status = response.status_code
                location = response.headers.get("location")
                if method == "GET" and status in REDIRECTS and location:
                    try:
                        target = str(response.url.join(location.strip()))
                    except httpx.InvalidURL as error:
                        raise Refused(f"not a valid redirect URL: {error}") from None
                    self._record(hop.done("redirect"))
                    return target
                media_type, _, params = response.headers.get("content-type", "").partition(";")
                media_type = media_type.strip().lower()
                cap = self.config.max_html_bytes if media_type in HTML_TYPES else self.config.max_bytes
                body = b"".join(self._body(response, cap))
                hop.bytes = len(body)
            fetched = Fetched(
                url=str(response.url), status=status, media_type=media_type, charset=_charset(params), body=body,
                etag=response.headers.get("etag", ""), last_modified=response.headers.get("last-modified", ""),
                headers={name.lower(): value for name, value in response.headers.items()},
            )
        except HttpError as error:
            self._record(hop.done(error.outcome, error.reason))
            raise
        except Exception as error:
            mapped = _mapped(error)
            if mapped is None:
                raise
            self._record(hop.done(mapped.outcome, mapped.reason))
            raise mapped from None
        self._record(hop.done("not modified" if status == 304 else "ok"))
        return fetched

    def _check_url(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as error:
            raise Refused(f"not a valid URL: {error}") from None
        if not parsed.scheme:
            raise Refused("not a valid URL: it needs http:// or https://")
        if parsed.scheme not in ("http", "https"):
            raise Refused(f"scheme not allowed: {parsed.scheme}: (only http and https)")
        if not parsed.host:
            raise Refused("not a valid URL: no host")
        if parsed.userinfo:
            raise Refused("credentials in URLs not allowed")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        allowed = _literal_allowed(parsed.host, self.config.allow_networks)
        if self.config.proxy and port not in self.config.ports and not allowed:
            # Without a proxy the connection path checks the port with the address.
            raise Refused(f"port {port} not allowed")
        return parsed

    def _body(self, response: httpx.Response, cap: int) -> Iterator[bytes]:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"too large: {int(declared):,} bytes declared, the cap is {cap:,}")
        decoder = _Decoder(response.headers.get("content-encoding", ""), cap)
        for chunk in response.iter_raw(CHUNK):
            remaining(None)  # the deadline, between reads as well as inside them
            yield from decoder.feed(chunk)
        yield from decoder.flush()

    def _record(self, record: RequestRecord) -> None:
        reason = f" ({record.reason})" if record.reason and record.reason != record.outcome else ""
        log.info("%s %s %s %d bytes %.0f ms %s%s", record.method, record.host or "-", record.status or "-",
                 record.bytes, record.milliseconds, record.outcome, reason)
        if self.observer is not None:
            try:
                self.observer(record)
            except Exception:  # an observer's bug must not fail the fetch it watches
                log.exception("HTTP observer failed")


@dataclass
class _Hop:
    """One request while it is made: what its record will say."""

    url: str
    method: str = "GET"
    host: str = ""
    status: int | None = None
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    def done(self, outcome: str, reason: str = "") -> RequestRecord:
        milliseconds = round((time.monotonic() - self.started) * 1000, 1)
        return RequestRecord(self.method, self.url, self.host, self.status, self.bytes, milliseconds, outcome, reason)


class _Decoder:
    """Content-Encoding decoding that never produces more than ``cap`` bytes in all."""

    def __init__(self, encoding: str, cap: int):
        self.cap = cap
        self.total = 0
        encodings = [e.strip().lower() for e in encoding.split(",") if e.strip() and e.strip().lower() != "identity"]
        if len(encodings) > 1:
            raise Failed(f"unsupported content encoding: {encoding}")
        self.encoding = encodings[0] if encodings else ""
        if self.encoding in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self.zlib = zlib.decompressobj()  # zlib-wrapped, as the RFC says; raw deflate tried on error
        elif self.encoding:
            raise Failed(f"unsupported content encoding: {encoding}")
        self.first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self.encoding:
            yield self._count(data)
            return
        try:
            while data:
                out = self.zlib.decompress(data, self.cap - self.total + 1)
                self.first = False
                yield self._count(out)
                data = self.zlib.unconsumed_tail
        except zlib.error as error:
            if self.encoding == "deflate" and self.first:
                self.zlib, self.first = zlib.decompressobj(-zlib.MAX_WBITS), False
                yield from self.feed(data)
                return
            raise Failed(f"malformed {self.encoding} body: {error}") from None

    def flush(self) -> Iterator[bytes]:
        if self.encoding:
            yield self._count(self.zlib.flush())

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.cap:
            raise TooLarge(f"too large: more than {self.cap:,} bytes")
        return data


class _PoolTransport(httpx.BaseTransport):
    """httpx on top of our own httpcore pool (whose network backend does the checks)."""

    def __init__(self, pool: httpcore.ConnectionPool | httpcore.HTTPProxy):
        self.pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,  # httpx's stream is an iterable of bytes
            extensions=request.extensions,
        )
        response = self.pool.handle_request(core)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Stream(response), extensions=response.extensions)

    def close(self) -> None:
        self.pool.close()


class _Stream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response):
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self.response.stream  # type: ignore[misc]  # a sync pool's stream is a plain iterable

    def close(self) -> None:
        self.response.close()


def _mapped(error: Exception) -> HttpError | None:
    """httpx/httpcore/ssl errors as ours (None: not a network error, let it propagate)."""
    if isinstance(error, (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError)):
        return TimedOut("timed out")
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in type(error).__name__ or "[SSL" in text:
        return Failed(f"TLS failed: {text[:160]}")
    if isinstance(error, (httpx.ConnectError, httpcore.ConnectError, ConnectionError)):
        return Failed(f"connection failed: {text[:160]}", temporary=True)
    if isinstance(error, httpx.RemoteProtocolError) and text.startswith("Invalid URL in location header"):
        # httpx parses a redirect's Location even when it is not following redirects.
        return Refused(f"not a valid redirect URL: {text.partition(': ')[2][:160]}")
    if isinstance(error, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpcore.ProtocolError)):
        return Failed(f"malformed response: {text[:160]}")
    if isinstance(error, (httpx.TransportError, httpcore.NetworkError, OSError)):
        return Failed(f"connection failed: {text[:160]}", temporary=True)
    if isinstance(error, httpx.InvalidURL):
        return Refused(f"not a valid URL: {text[:160]}")
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


def _literal_allowed(host: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        return allowed_by(ipaddress.ip_address(host), networks)
    except ValueError:
        return False
