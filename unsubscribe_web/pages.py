"""Every page the endpoint answers with, and the headers every response carries.

Pages are plain HTML built from a few strings: no scripts, no images, no external
resources, nothing that tracks. The one small stylesheet is inline and allowed by its
hash in the Content-Security-Policy, so the policy can forbid everything else.
Forms and links between the pages are relative (``../r/<token>``), so the endpoint
works under any host, port or mount path.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from html import escape

from digest.vocabulary import RESUBSCRIBE_PATH, UNSUBSCRIBE_PATH

# lanyard's look (site/lanyard_site/static/lanyard/site.css: its colours, type, header and
# buttons) in a few lines, inline: the endpoint runs on its own and loads nothing.
STYLE = (
    "*{box-sizing:border-box}"
    "body{font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;color:#18202e;"
    "background:#f5f6f9;margin:0;overflow-wrap:anywhere}"
    "header{background:#fff;border-bottom:1px solid #e3e6ec;padding:.75rem 1.25rem}"
    ".brand{font-weight:800;font-size:1.25rem;letter-spacing:-.02em;color:#18202e}.brand span{color:#2b55d6}"
    "main{max-width:36rem;margin:2rem auto;padding:1.25rem 1.5rem;background:#fff;border:1px solid #e3e6ec;"
    "border-radius:10px;box-shadow:0 1px 2px rgba(24,32,46,.06),0 2px 8px rgba(24,32,46,.04)}"
    "@media (max-width:40rem){main{margin:1rem .75rem}}"
    "h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .75rem}"
    "a{color:#2b55d6;text-decoration:underline;text-underline-offset:.15em}"
    "button{font:inherit;font-weight:600;padding:.45rem .9rem;border:1px solid #2b55d6;border-radius:8px;"
    "background:#2b55d6;color:#fff;cursor:pointer}button:hover{background:#1d3fa8}"
    "button:focus-visible{outline:2px solid #2b55d6;outline-offset:1px}"
    "form{margin:1.2em 0}.small{font-size:.9em;color:#5b6576}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

SECURITY_HEADERS = [
    ("Content-Security-Policy",
     f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex, nofollow"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
ALLOWED_METHODS = "GET, HEAD, POST"


@dataclass(frozen=True, slots=True)
class Response:
    status: str
    body: bytes
    extra_headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            *SECURITY_HEADERS,
            *self.extra_headers,
        ]


def _page(status: str, title: str, body: str, *extra_headers: tuple[str, str]) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)} · lanyard</title><style>{STYLE}</style></head>"
        '<body><header><span class="brand"><span aria-hidden="true">◆</span> lanyard</span></header>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(status, html.encode("utf-8"), extra_headers)


def health(status: int, body: dict) -> Response:
    """``/healthz`` and ``/readyz``: JSON for load balancers and monitors."""
    reason = {200: "200 OK", 503: "503 Service Unavailable"}[status]
    return Response(reason, json.dumps(body).encode(), content_type="application/json")


def _manage(manage_url: str) -> str:
    return (
        f'<p class="small">To change all your lanyard emails, '
        f'<a href="{escape(manage_url)}">manage your subscriptions</a> on the site.</p>'
    )


def _button(action: str | None, label: str) -> str:
    """A POST form; without an action it posts back to the page's own address."""
    target = f' action="{escape(action)}"' if action else ""
    return f'<form method="post"{target}><button type="submit">{escape(label)}</button></form>'


def mask_email(email: str) -> str:
    """``ada.lovelace@example.com`` → ``a•••e@example.com``: enough to recognise, not to harvest."""
    local, at, domain = email.rpartition("@")
    if not at:
        local, domain = email, ""
    shown = local[:1] + "•" if len(local) <= 2 else local[0] + "•••" + local[-1]
    return shown + ("@" + domain if domain else "")


def _list(list_name: str) -> str:
    return f"the {escape(list_name)} digest"


def _recipient(email: str | None) -> str:
    return f"<strong>{escape(mask_email(email))}</strong>" if email else "your address"


def confirm_unsubscribe(
    *, list_name: str, email: str | None, already: bool, token_for_resubscribe: str, manage_url: str
) -> Response:
    if already:
        return _page(
            "200 OK", "You are unsubscribed",
            f"<p>{_recipient(email) if email else 'Your address'} no longer gets "
            f"{_list(list_name)}.</p>"
            + _button(f"..{RESUBSCRIBE_PATH}{token_for_resubscribe}", f"Resubscribe to the {list_name} digest")
            + _manage(manage_url),
        )
    return _page(
        "200 OK", f"Unsubscribe from {_list(list_name)}?",
        f"<p>This stops {_list(list_name)} of upcoming events from lanyard to {_recipient(email)}.</p>"
        + _button(None, "Unsubscribe")
        + _manage(manage_url),
    )


def unsubscribed(*, list_name: str, token_for_resubscribe: str, manage_url: str) -> Response:
    return _page(
        "200 OK", "You are unsubscribed",
        f"<p>You will not get {_list(list_name)} any more.</p>"
        "<p>Unsubscribed by mistake?</p>"
        + _button(f"..{RESUBSCRIBE_PATH}{token_for_resubscribe}", f"Resubscribe to the {list_name} digest")
        + _manage(manage_url),
    )


def confirm_resubscribe(*, list_name: str, email: str | None, manage_url: str) -> Response:
    return _page(
        "200 OK", f"Resubscribe to {_list(list_name)}?",
        f"<p>This starts {_list(list_name)} of upcoming events again, to {_recipient(email)}.</p>"
        + _button(None, "Resubscribe")
        + _manage(manage_url),
    )


def resubscribed(*, list_name: str, token_for_unsubscribe: str, manage_url: str) -> Response:
    return _page(
        "200 OK", "You are subscribed again",
        f"<p>{_list(list_name).capitalize()} will reach you again from its next issue.</p>"
        + _button(f"..{UNSUBSCRIBE_PATH}{token_for_unsubscribe}", f"Unsubscribe from the {list_name} digest")
        + _manage(manage_url),
    )


def broken_link(*, manage_url: str) -> Response:
    return _page(
        "400 Bad Request", "This link is broken",
        "<p>The link you followed is not complete or was changed on its way, so it cannot "
        "change your subscription. Nothing was changed.</p>"
        f'<p>To unsubscribe, sign in to lanyard and <a href="{escape(manage_url)}">manage your '
        "subscriptions</a> there, or copy the whole link from the email into your browser.</p>",
    )


def bad_request() -> Response:
    return _page("400 Bad Request", "Bad request", "<p>The request could not be understood. Nothing was changed.</p>")


def not_found() -> Response:
    return _page("404 Not Found", "Page not found", "<p>There is no page at this address.</p>")


def method_not_allowed() -> Response:
    return _page(
        "405 Method Not Allowed", "Method not allowed",
        "<p>This address answers GET and POST only.</p>", ("Allow", ALLOWED_METHODS),
    )


def body_too_large() -> Response:
    return _page(
        "413 Content Too Large", "Request too large", "<p>The request carried far more data than an "
        "unsubscribe needs. Nothing was changed.</p>",
    )


def uri_too_long() -> Response:
    return _page("414 URI Too Long", "Address too long", "<p>This address is far longer than any lanyard link. "
                 "Nothing was changed.</p>")


def unavailable() -> Response:
    return _page(
        "503 Service Unavailable", "Please try again in a few minutes",
        "<p>We could not record your request just now, so nothing was changed. Please follow "
        "the link again in a few minutes.</p>", ("Retry-After", "120"),
    )


def server_error() -> Response:
    return _page(
        "500 Internal Server Error", "Something went wrong",
        "<p>Sorry, something went wrong on our side. Please try again later.</p>",
    )
