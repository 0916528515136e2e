"""The outgoing HTTP client against real misbehaving servers on loopback.

The first hop's server listens on 127.0.0.2 and only that address is allowed
(``LANYARD_HTTP_ALLOW_NETWORKS=127.0.0.2/32``); every other address is judged by the
rules, exactly as in production. Each bad input ends in a refusal or a clean result.
"""

from __future__ import annotations

import gzip
import ipaddress
import logging
import socket
import ssl
import subprocess
import threading

import pytest

from digest.config import ConfigError
from digest.http import Failed, HttpClient, HttpConfig, Refused, TimedOut, TooLarge, http_config
from tests.web_server import WebServer, endless, gzip_bomb, huge_length, page, redirect, send, tar_pit

ALLOWED = (ipaddress.ip_network("127.0.0.2/32"),)
DEADLINE = 3.0  # short, so the tar pits end soon; the rule is the same at 20 s


@pytest.fixture
def server(web_server):
    return web_server


@pytest.fixture
def client():
    found = HttpClient(HttpConfig(allow_networks=ALLOWED, deadline=DEADLINE))
    yield found
    found.close()


def test_fetches_a_page_naming_lanyard_in_its_user_agent(server, client):
    url = server.route("/", page("<title>Hi</title>", "text/html; charset=ISO-8859-1"))
    fetched = client.get(url)
    assert (fetched.status, fetched.media_type, fetched.charset, fetched.body) == (
        200,
        "text/html",
        "iso-8859-1",
        b"<title>Hi</title>",
    )
    assert server.requests[0][1]["user-agent"].startswith("lanyard/")


def test_with_the_allow_list_empty_the_test_server_is_refused(server):
    url = server.route("/", page("hello"))
    with (
        HttpClient(HttpConfig()) as guarded,
        pytest.raises(Refused, match="address not allowed: 127.0.0.2 is a loopback"),
    ):
        guarded.get(url)
    assert server.requests == []


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_tar_pit_ends_at_the_deadline(server, client, in_headers):
    # A byte a second never trips the 10 s read timeout; only the total deadline stops it.
    url = server.route("/pit", tar_pit(server.stopping, in_headers=in_headers))
    with pytest.raises(TimedOut, match="timed out"):
        client.get(url)


def test_an_endless_body_stops_at_the_cap(server, client):
    url = server.route("/endless", endless(server.stopping))
    with pytest.raises(TooLarge, match="more than 10,485,760 bytes"):
        client.get(url)


def test_a_2_gb_content_length_is_refused_before_the_body(server, client):
    url = server.route("/big", huge_length())
    with pytest.raises(TooLarge, match="2,147,483,648 bytes declared"):
        client.get(url)


def test_a_gzip_bomb_stops_at_the_html_cap_on_decoded_bytes(server, client):
    url = server.route("/bomb", gzip_bomb(64))
    with pytest.raises(TooLarge, match="more than 2,097,152 bytes"):
        client.get(url)


def test_gzip_and_deflate_bodies_are_decoded(server, client):
    import zlib  # only this test compresses by hand

    text = b"<title>compressed</title>" * 100
    server.route("/gz", page(gzip.compress(text), headers={"Content-Encoding": "gzip"}))
    server.route("/deflate", page(zlib.compress(text), headers={"Content-Encoding": "deflate"}))
    raw = zlib.compressobj(wbits=-15)
    server.route("/raw-deflate", page(raw.compress(text) + raw.flush(), headers={"Content-Encoding": "deflate"}))
    server.route("/br", page(b"???", headers={"Content-Encoding": "br"}))
    for path in ("/gz", "/deflate", "/raw-deflate"):
        assert client.get(server.url(path)).body == text
    with pytest.raises(Failed, match="unsupported content encoding: br"):
        client.get(server.url("/br"))


@pytest.fixture
def loopback_service():
    """A service on 127.0.0.1 the redirects try to reach; it must never see a request."""
    found = WebServer("127.0.0.1")
    found.route("/", page("internal secrets"))
    yield found
    found.stop()


LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/", "http://0x7f000001:{port}/", "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/", "http://0.0.0.0:{port}/", "http://[::]:{port}/", "http://127.1:{port}/",
    "http://[::ffff:7f00:1]:{port}/", "http://[64:ff9b::7f00:1]:{port}/", "http://[2002:7f00:1::]:{port}/",
]


@pytest.mark.parametrize("target", LOOPBACK_SPELLINGS)
def test_redirects_to_every_loopback_spelling_are_refused(server, client, loopback_service, target):
    url = server.route("/go", redirect(target.format(port=loopback_service.port)))
    with pytest.raises(Refused, match="address not allowed|not a valid (redirect )?URL"):
        client.get(url)
    assert loopback_service.requests == []


@pytest.mark.parametrize("target, reason", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://[::ffff:169.254.169.254]/", "link-local address"),
])
def test_redirects_to_metadata_cgnat_and_private_addresses_are_refused(server, client, target, reason):
    url = server.route("/go", redirect(target))
    with pytest.raises(Refused, match=reason):
        client.get(url)


def _resolving(names: dict[str, list[str]]):
    """A getaddrinfo that answers these names as a DNS server would, and others as usual."""

    def resolve(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in names[host]
            ]
        return socket.getaddrinfo(host, port, *args, **kwargs)

    return resolve


def test_a_host_name_resolving_to_a_private_address_is_refused(server):
    resolver = _resolving(
        {"intranet.example.com": ["10.20.30.40"], "mixed.example.com": ["93.184.215.14", "192.168.1.1"]}
    )
    with HttpClient(HttpConfig(allow_networks=ALLOWED, deadline=DEADLINE), resolver=resolver) as guarded:
        url = server.route("/go", redirect("http://intranet.example.com/"))
        with pytest.raises(Refused, match=r"10.20.30.40 is a private address \(intranet.example.com resolves to it\)"):
            guarded.get(url)
        # One bad address among good ones is enough to refuse the name.
        with pytest.raises(Refused, match="192.168.1.1 is a private address"):
            guarded.get("http://mixed.example.com/")


def test_localhost_by_name_is_refused_without_the_allow_list(loopback_service):
    refused = pytest.raises(Refused, match=r"loopback address \(localhost resolves to it\)")
    with HttpClient(HttpConfig(ports=frozenset({loopback_service.port}))) as guarded, refused:
        guarded.get(f"http://localhost:{loopback_service.port}/")
    assert loopback_service.requests == []


def test_a_redirect_loop_ends_after_five_hops(server, client):
    url = server.route("/a", redirect("/b"))
    server.route("/b", redirect("/a"))
    with pytest.raises(Failed, match=r"too many redirects \(more than 5\)"):
        client.get(url)
    assert len(server.requests) == 6


def test_five_redirects_are_followed_each_hop_checked(server, client):
    for hop in range(5):
        server.route(f"/{hop}", redirect(f"/{hop + 1}", status=(301, 302, 303, 307, 308)[hop]))
    server.route("/5", page("arrived"))
    fetched = client.get(server.url("/0"))
    assert fetched.body == b"arrived"
    assert fetched.url == server.url("/5") and len(fetched.redirects) == 5


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.2:70/", "ftp://example.com/x", "dict://127.0.0.2:11211/stat"])
def test_other_schemes_are_refused_directly_and_as_redirects(server, client, url):
    scheme = url.split(":")[0]
    with pytest.raises(Refused, match=f"scheme not allowed: {scheme}"):
        client.get(url)
    with pytest.raises(Refused, match=f"scheme not allowed: {scheme}"):
        client.get(server.route("/go", redirect(url)))


def test_a_port_outside_80_and_443_is_refused(server, client):
    url = server.route("/go", redirect("http://93.184.215.14:8080/"))
    with pytest.raises(Refused, match="port 8080 not allowed"):
        client.get(url)


def test_conditional_requests_send_the_validators_and_report_not_modified(server, client):
    def conditional(h):
        if (
            h.headers.get("If-None-Match") == '"v1"'
            or h.headers.get("If-Modified-Since") == "Tue, 01 Dec 2026 10:00:00 GMT"
        ):
            h.send_response(304)
            h.send_header("ETag", '"v1"')
            h.end_headers()
            return
        send(h, 200, b"<title>v1</title>", headers={"ETag": '"v1"', "Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT"})

    url = server.route("/c", conditional)
    first = client.get(url)
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Tue, 01 Dec 2026 10:00:00 GMT")
    assert client.get(url, etag=first.etag).not_modified
    assert client.get(url, last_modified=first.last_modified).not_modified
    assert client.get(url, etag='"v0"').status == 200


def test_every_request_is_logged_and_observed(server, caplog):
    seen = []
    server.route("/r", redirect("/page"))
    server.route("/page", page("x" * 10))
    with (
        HttpClient(HttpConfig(allow_networks=ALLOWED), observer=seen.append) as observed,
        caplog.at_level(logging.INFO, "lanyard.http"),
    ):
        observed.get(server.url("/r"))
        with pytest.raises(Refused):
            observed.get("http://127.0.0.1/")
    assert [(r.host, r.status, r.bytes, r.outcome) for r in seen] == [
        ("127.0.0.2", 302, 0, "redirect"), ("127.0.0.2", 200, 10, "ok"), ("127.0.0.1", None, 0, "refused")]
    lines = [r.getMessage() for r in caplog.records if r.name == "lanyard.http"]
    assert len(lines) == 3
    assert lines[1].startswith("GET 127.0.0.2 200 10 bytes ") and lines[1].endswith(" ok")
    assert "refused (address not allowed: 127.0.0.1 is a loopback address)" in lines[2]


def test_an_observer_that_raises_does_not_fail_the_fetch(server):
    def broken(record):
        raise RuntimeError("profiler bug")

    url = server.route("/", page("fine"))
    with HttpClient(HttpConfig(allow_networks=ALLOWED), observer=broken) as observed:
        assert observed.get(url).body == b"fine"


def test_tls_is_verified(tmp_path, client):
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.2",
            "-addext",
            "subjectAltName=IP:127.0.0.2",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.2", 0))
    port = listener.getsockname()[1]

    def serve():
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1024)
        except (ssl.SSLError, OSError):
            pass  # the client rejects the self-signed certificate mid-handshake

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(Failed, match="TLS failed: .*CERTIFICATE_VERIFY_FAILED"):
            client.get(f"https://127.0.0.2:{port}/")
    finally:
        listener.close()
        thread.join(5)


def test_a_server_that_is_not_listening_is_a_temporary_failure(client):
    probe = socket.create_server(("127.0.0.2", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(Failed, match="connection failed") as failure:
        client.get(f"http://127.0.0.2:{port}/")
    assert failure.value.temporary


def test_the_settings_name_the_two_variables(make_settings):
    settings = make_settings(http_allow_networks="10.1.0.0/16, 127.0.0.2", http_proxy="http://smokescreen:4750")
    config = http_config(settings)
    assert config.allow_networks == (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("127.0.0.2/32"))
    assert config.proxy == "http://smokescreen:4750"
    with pytest.raises(ConfigError, match="LANYARD_HTTP_ALLOW_NETWORKS: 'ten' is not a network"):
        make_settings(http_allow_networks="ten")
    with pytest.raises(ConfigError, match="LANYARD_HTTP_PROXY: 'socks://x' is not an http"):
        make_settings(http_proxy="socks://x")
    with pytest.raises(ConfigError, match="LANYARD_HTTP_DEADLINE"):
        make_settings(http_deadline="soon")


def test_through_an_egress_proxy_the_proxy_checks_addresses_and_the_client_the_rest(server):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx  # the proxy forwards with a plain client of its own

    forwarded = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):  # the stdlib's name
            forwarded.append(self.path)  # an absolute URL: this is a forward proxy
            answer = httpx.get(self.path)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.3", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://127.0.0.3:{proxy.server_address[1]}"
    url = server.route("/", page("via the proxy"))
    try:
        with HttpClient(HttpConfig(proxy=proxy_url, allow_networks=ALLOWED)) as proxied:
            assert proxied.get(url).body == b"via the proxy"
            with pytest.raises(Refused, match="scheme not allowed: gopher"):
                proxied.get("gopher://127.0.0.2/")
        with (
            HttpClient(HttpConfig(proxy=proxy_url)) as strict,
            pytest.raises(Refused, match=f"port {server.port} not allowed"),
        ):
            strict.get(url)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert forwarded == [url]


def test_a_client_made_before_a_fork_still_resolves_in_the_child(server, client):
    # Prefork workers fork after start-up; the child cannot use the parent's lookup threads.
    import os  # only this test forks

    url = server.route("/", page("parent and child"))
    assert client.get(url).body == b"parent and child"
    child = os.fork()
    if child == 0:
        # A name the child must resolve itself: refused only after a lookup that ran.
        try:
            client.get(f"http://localhost:{server.port}/")
            code = 1
        except Refused as refused:
            code = 0 if "(localhost resolves to it)" in refused.reason else 2
        except BaseException:  # a stale lookup pool would end in TimedOut here
            code = 3
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_request_headers_go_out_and_response_headers_come_back(server, client):
    url = server.route("/api", page("[]", "application/json", headers={"Link": '<https://x/?page=2>; rel="next"'}))
    fetched = client.get(url, accept="application/json", headers={"Authorization": "Bearer t0ken"})
    assert server.requests[0][1]["authorization"] == "Bearer t0ken"
    assert fetched.headers["link"] == '<https://x/?page=2>; rel="next"'


def test_a_redirect_to_another_origin_drops_the_authorization_header(server, client):
    other = WebServer()
    try:
        target = other.route("/elsewhere", page("ok"))
        same = server.route("/same", page("ok"))
        client.get(server.route("/hop", redirect(same)), headers={"Authorization": "Bearer t0ken"})
        assert server.requests[-1][1]["authorization"] == "Bearer t0ken"  # same origin: kept
        client.get(server.route("/away", redirect(target)), headers={"Authorization": "Bearer t0ken"})
        assert "authorization" not in other.requests[0][1]
    finally:
        other.stop()


def test_post_sends_a_form_by_the_same_rules(client):
    from tests.standins.github import GitHubStandIn

    with GitHubStandIn() as github:
        github.add_user("ada")
        github.codes["c0de"] = "ada"
        answer = client.post(f"{github.base_url}/login/oauth/access_token", form={"code": "c0de", "client_id": "x"})
        assert answer.status == 200 and b'"token_type": "bearer"' in answer.body
        assert github.requests[-1].method == "POST" and github.requests[-1].form["code"] == "c0de"
    with pytest.raises(Refused, match="address not allowed"):
        client.post("http://127.0.0.1:9/token", form={"a": "b"})
