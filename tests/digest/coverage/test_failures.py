"""Every way a pasted link fails, met for real (a loopback web server misbehaving, a closed
port, a name under .invalid, a plain-HTTP port spoken to in TLS), sorted into one
LinkFailure and said in plain words, never the client's raw error."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from digest.coverage.failures import UNKNOWN, WORDS, failure_of, failure_words
from digest.coverage.metadata import fetch_metadata
from digest.http import HttpClient, HttpConfig, HttpError
from digest.vocabulary import LinkFailure
from tests.web_server import HOST, WebServer, gzip_bomb, page, redirect, tar_pit


@pytest.fixture
def client():
    found = HttpClient(HttpConfig(allow_networks=(ipaddress.ip_network(f"{HOST}/32"),), deadline=2.0))
    yield found
    found.close()


def closed_port() -> int:
    """A port on the web server's address that nothing listens on."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def garbage(h) -> None:
    h.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
    h.wfile.flush()


def link(server: WebServer, case: str) -> str:
    """The address that fails as ``case`` says."""
    routes = {
        "404": None, "403": page("no", status=403), "500": page("oops", status=500), "429": page("slow", status=429),
        "418": page("teapot", status=418), "pit": tar_pit(server.stopping), "bomb": gzip_bomb(8),
        "loop": redirect("/loop"), "garbage": garbage,
    }
    if case in routes:
        return server.route(f"/{case}", routes[case]) if routes[case] else server.url("/nothing-here")
    return {
        "closed": f"http://{HOST}:{closed_port()}/",
        "dns": "http://no-such-host.invalid/talk",
        "tls": f"https://{HOST}:{server.port}/",
        "loopback": f"http://127.0.0.1:{server.port}/",
        "localhost": f"http://localhost:{server.port}/",
        "redirect to loopback": server.route("/away", redirect(f"http://127.0.0.1:{server.port}/")),
        "port": "http://1.1.1.1:8080/",  # refused before any connection is made
        "scheme": "gopher://example.org/",
        "credentials": "http://user:secret@example.org/",
    }[case]


CASES = {
    "404": LinkFailure.PAGE_MISSING, "403": LinkFailure.FORBIDDEN, "500": LinkFailure.SITE_ERROR,
    "429": LinkFailure.BUSY, "418": LinkFailure.HTTP_ERROR, "pit": LinkFailure.TIMED_OUT,
    "bomb": LinkFailure.TOO_LARGE, "loop": LinkFailure.TOO_MANY_REDIRECTS, "garbage": LinkFailure.MALFORMED,
    "closed": LinkFailure.CONNECTION_REFUSED, "dns": LinkFailure.NOT_FOUND, "tls": LinkFailure.TLS,
    "loopback": LinkFailure.PRIVATE_ADDRESS, "localhost": LinkFailure.PRIVATE_ADDRESS,
    "redirect to loopback": LinkFailure.PRIVATE_ADDRESS, "port": LinkFailure.PORT,
    "scheme": LinkFailure.NOT_A_WEB_ADDRESS, "credentials": LinkFailure.NOT_A_WEB_ADDRESS,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_failure_is_one_reason_in_plain_words(web_server, client, case):
    with pytest.raises(HttpError) as raised:
        fetch_metadata(client, link(web_server, case))
    failure = failure_of(raised.value)
    assert failure is CASES[case], raised.value.reason
    words = failure_words(failure)
    assert words == WORDS[failure] and raised.value.reason not in words
    assert not any(raw in words for raw in ("Errno", "[SSL", "HTTP ", "127.0.0", "address not allowed"))


def test_the_address_that_could_not_be_found_says_so(web_server, client):
    with pytest.raises(HttpError) as raised:
        fetch_metadata(client, "http://no-such-host.invalid/")
    assert "Name or service not known" in raised.value.reason or "resolve" in raised.value.reason
    assert failure_words(failure_of(raised.value)).startswith("the address could not be found")


def test_every_reason_has_words_and_old_raw_reasons_read_as_unknown():
    assert set(WORDS) == set(LinkFailure)
    assert len(set(WORDS.values())) == len(WORDS)
    assert failure_words("connection failed: [Errno -2] Name or service not known") == UNKNOWN
