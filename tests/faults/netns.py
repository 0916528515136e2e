"""Worker "hosts" on one machine: network namespaces joined to the root namespace by veth
pairs (Debian's iproute2), so a host can be cut off and healed while its processes run.

The servers stay in the root namespace and listen on 127.0.0.1 (for the test itself and
the beat) and on a service address put on the root namespace's loopback interface, which
each host reaches through its veth pair; a second loopback address serves the broker
alone, so one host can lose the broker and keep everything else. Addresses are from
198.18.0.0/15 (set aside for network tests, RFC 2544), a random /24 per use, and exist
only on this machine. Everything made is removed in :meth:`Hosts.remove`, failure or not.
"""

from __future__ import annotations

import random
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass


class NetnsRefused(RuntimeError):
    """This machine (or sandbox) does not let us make network namespaces."""


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if check and result.returncode:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Host:
    namespace: str
    outside: str  # the veth end in the root namespace (cut here)
    address: str  # the host's own address

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]


class Hosts:
    def __init__(self, count: int):
        self.tag = secrets.token_hex(2)
        net = f"198.{random.choice((18, 19))}.{random.randrange(256)}"
        self.service = f"{net}.1"  # PostgreSQL, Redis, SMTP
        self.broker = f"{net}.2"  # the broker's Redis alone
        self.hosts: list[Host] = []
        self._count = count
        self._net = net
        self._loopback: list[str] = []

    def make(self) -> None:
        """Make the namespaces; :class:`NetnsRefused` when the machine will not."""
        probe = _ip("netns", "add", f"ly{self.tag}h0", check=False)
        if probe.returncode:
            raise NetnsRefused(f"`ip netns add` was refused here: {probe.stderr.strip()}")
        for address in (self.service, self.broker):
            _ip("addr", "add", f"{address}/32", "dev", "lo")
            self._loopback.append(address)
        for n in range(self._count):
            namespace, outside, inside = f"ly{self.tag}h{n}", f"ly{self.tag}o{n}", f"ly{self.tag}i{n}"
            if n:
                _ip("netns", "add", namespace)
            gateway, address = f"{self._net}.{4 * n + 5}", f"{self._net}.{4 * n + 6}"
            self.hosts.append(Host(namespace, outside, address))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            _ip("addr", "add", f"{gateway}/30", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("addr", "add", f"{address}/30", "dev", inside, namespace=namespace)
            _ip("link", "set", inside, "up", namespace=namespace)
            _ip("link", "set", "lo", "up", namespace=namespace)
            _ip("route", "add", "default", "via", gateway, namespace=namespace)

    def cut(self, host: Host) -> None:
        """The host loses the network: every packet to and from it is dropped."""
        _ip("link", "set", host.outside, "down")

    def heal(self, host: Host) -> None:
        _ip("link", "set", host.outside, "up")

    def cut_broker(self, host: Host) -> None:
        """The host can no longer reach the broker (and only the broker)."""
        _ip("route", "add", "blackhole", f"{self.broker}/32", namespace=host.namespace)

    def heal_broker(self, host: Host) -> None:
        _ip("route", "del", "blackhole", f"{self.broker}/32", namespace=host.namespace)

    def remove(self) -> None:
        for n in range(self._count):
            _ip("link", "del", f"ly{self.tag}o{n}", check=False)
            _ip("netns", "del", f"ly{self.tag}h{n}", check=False)
        for address in self._loopback:
            _ip("addr", "del", f"{address}/32", "dev", "lo", check=False)
