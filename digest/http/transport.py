"""The connection path of the outgoing HTTP client: resolve, check, connect to what was checked.

httpcore lets a connection pool use a network backend of our own. Ours resolves the
host with ``getaddrinfo``, checks every address it returns (``addresses.denial``), and
opens the socket to exactly that checked address, never to the name: nothing resolves
the name again between the check and the connect, so DNS rebinding has no window. TLS
is then started by httpcore on that socket with the original host name (SNI and
certificate verification), and the Host header is the URL's, so the server sees an
ordinary request.

Every socket operation is also held to the request's total deadline (a context
variable the client sets per request): each read, write and handshake gets at most the
time that is left, so a tar pit that sends a byte a second cannot keep a worker past it.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import socket
import ssl
import time
import typing
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpcore

from digest.http.addresses import IPAddress, IPNetwork, allowed_by, denial
from digest.http.errors import Refused, TimedOut

# The monotonic time by which the current request must be over (None: no deadline).
deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("lanyard_http_deadline", default=None)

Resolver = Callable[..., list]  # socket.getaddrinfo's signature
LOOKUP_THREADS = 4


def remaining(timeout: float | None) -> float | None:
    """``timeout`` cut down to what is left of the deadline; TimedOut once it has passed."""
    end = deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise TimedOut("timed out")
    return left if timeout is None else min(timeout, left)


@dataclass(frozen=True)
class AddressPolicy:
    """Where connections may go: the allow-list and the ports of ordinary addresses."""

    allow_networks: tuple[IPNetwork, ...] = ()
    ports: frozenset[int] = frozenset({80, 443})
    check: bool = True  # False only for an egress proxy (LANYARD_HTTP_PROXY), which checks instead

    def refusal(self, address: IPAddress, port: int) -> str | None:
        if allowed_by(address, self.allow_networks):
            return None  # the operator's networks may use any port
        reason = denial(address)
        if reason:
            return f"address not allowed: {address} is {reason}"
        return f"port {port} not allowed" if port not in self.ports else None


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation is bounded by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, remaining(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, remaining(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves and checks every address, then connects to a checked one."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = socket.getaddrinfo):
        self.policy = policy
        self.resolver = resolver
        self.plain = httpcore.SyncBackend()
        self._lookups: ThreadPoolExecutor | None = None
        self._lookups_pid = 0

    def _executor(self) -> ThreadPoolExecutor:
        """getaddrinfo cannot be interrupted, so it runs on these threads and the caller stops
        waiting at the deadline (a stuck lookup ends later on its own). Made again in a forked
        child (a prefork worker), whose copy of the parent's threads does not run."""
        if self._lookups is None or self._lookups_pid != os.getpid():
            self._lookups = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="lanyard-http-dns")
            self._lookups_pid = os.getpid()
        return self._lookups

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        # (httpcore's NetworkBackend interface, parameters and all)
        if not self.policy.check:
            return DeadlineStream(self.plain.connect_tcp(host, port, remaining(timeout), local_address, socket_options))
        addresses = self.resolve(host, port, timeout)
        # Every address must pass: a name answering with a public and a private address
        # is either misconfigured or an attack, and either way not fetched.
        for address in addresses:
            reason = self.policy.refusal(address, port)
            if reason:
                raise Refused(reason if host == str(address) else f"{reason} ({host} resolves to it)")
        last: Exception | None = None
        for address in addresses:
            try:
                stream = self.plain.connect_tcp(str(address), port, remaining(timeout), local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
                continue
            return DeadlineStream(stream)
        assert last is not None  # resolve() never returns an empty list
        raise last

    def resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        future = self._executor().submit(self.resolver, host, port, type=socket.SOCK_STREAM)
        try:
            found = future.result(timeout=remaining(timeout))
        except FutureTimeout:
            raise TimedOut("timed out") from None
        except (socket.gaierror, UnicodeError, OSError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        addresses = []
        for _family, _type, _proto, _name, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])  # drop an IPv6 zone id
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        return addresses

    def close(self) -> None:
        if self._lookups is not None and self._lookups_pid == os.getpid():
            self._lookups.shutdown(wait=False, cancel_futures=True)
        self._lookups = None

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        raise Refused("unix sockets not allowed")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
