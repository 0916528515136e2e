"""Reading POST bodies: bounded in size, and telling an RFC 8058 one-click POST apart."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY = 8 * 1024  # a one-click body is 26 bytes; a multipart one a few hundred


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
    pass


def read_body(environ) -> bytes:
    """The request body, read whole; :class:`BodyTooLarge` past :data:`MAX_BODY`."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "").strip()
    if length:
        if not length.isdigit():
            raise BadBody("Content-Length is not a number")
        if int(length) > MAX_BODY:
            raise BodyTooLarge
        return stream.read(int(length))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        data = stream.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise BodyTooLarge
        return data
    return b""


def is_one_click(content_type: str, body: bytes) -> bool:
    """True for the mail client's ``List-Unsubscribe=One-Click`` POST (RFC 8058),
    urlencoded or multipart; False for anything else (our own button)."""
    if b"One-Click" not in body:
        return False
    if content_type.split(";", 1)[0].strip().lower().startswith("multipart/"):
        return _multipart_one_click(content_type, body)
    fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    return any(_is_one_click_field(name, value) for name, value in fields)


def _multipart_one_click(content_type: str, body: bytes) -> bool:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return False
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        value: Any = part.get_payload(decode=True) or b""  # bytes for a single part
        if isinstance(name, str) and _is_one_click_field(name, value.decode("latin-1")):
            return True
    return False


def _is_one_click_field(name: str, value: str) -> bool:
    return name.strip().lower() == "list-unsubscribe" and value.strip().lower() == "one-click"
