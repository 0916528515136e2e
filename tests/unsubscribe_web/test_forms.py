"""Telling a mail client's RFC 8058 one-click POST from the page's own button."""

import pytest

from unsubscribe_web.forms import is_one_click

MULTIPART = (
    b"--b1\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b1--\r\n"
)


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click", True),
    ("application/x-www-form-urlencoded; charset=utf-8", b"a=1&List-Unsubscribe=One-Click", True),
    ("", b"List-Unsubscribe=One-Click", True),  # no Content-Type at all
    ("multipart/form-data; boundary=b1", MULTIPART, True),
    ("Multipart/Form-Data; boundary=b1", MULTIPART, True),
    ("multipart/form-data; boundary=other", MULTIPART, False),  # not its parts
    ("multipart/form-data", MULTIPART, False),  # no boundary
    ("application/x-www-form-urlencoded", b"", False),  # our button
    ("application/x-www-form-urlencoded", b"List-Unsubscribe=Two-Clicks", False),
    ("application/x-www-form-urlencoded", b"Other=One-Click", False),
    ("application/x-www-form-urlencoded", b"\xff\xfeOne-Click", False),
])
def test_is_one_click(content_type, body, expected):
    assert is_one_click(content_type, body) is expected
