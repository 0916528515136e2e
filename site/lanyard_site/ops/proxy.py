"""X-Forwarded-Proto and X-Forwarded-For, believed only from the TLS proxy.

Anyone can send those headers; only a peer in ``LANYARD_TRUSTED_PROXIES`` (default:
loopback, where nginx runs next to gunicorn) is believed. From any other peer they are
dropped before Django reads them, so ``SECURE_PROXY_SSL_HEADER`` cannot be fooled into
"https" and a visitor cannot claim to be loopback. From the proxy, the client's address
(the last X-Forwarded-For entry, the one the proxy added) becomes ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def trusted(peer: str) -> bool:
    found = address(peer)
    return found is not None and any(found in network for network in settings.LANYARD.site.trusted_proxies)


class ProxyHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if not trusted(meta.get("REMOTE_ADDR", "")):
            for name in FORWARDED:
                meta.pop(name, None)
        elif (client := address(meta.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1])) is not None:
            meta["REMOTE_ADDR"] = str(client)
        return self.get_response(request)
