"""Secrets kept at rest sealed: another network's access tokens, an OAuth app's client secret.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under keys derived from
``LANYARD_SECRET_KEYS``: the first key seals, every key opens, so rotating the secret key
(new one first, old one after) keeps sealed values readable until they are sealed again.
A database dump alone gives no token away; the key never touches the database.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Binds the derived keys to this one use: the same secret key signs cookies and links elsewhere.
CONTEXT = b"lanyard.sealed.v1"


class Unsealable(ValueError):
    """A sealed value none of the secret keys opens (tampered, or sealed under a key since dropped)."""


class Sealer:
    def __init__(self, secret_keys: Sequence[str]):
        if not secret_keys:
            raise ValueError("sealing needs at least one secret key")
        self._fernet = MultiFernet([Fernet(_derive(key)) for key in secret_keys])

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as error:
            raise Unsealable("a sealed secret could not be opened with any of LANYARD_SECRET_KEYS") from error


def _derive(secret_key: str) -> bytes:
    digest = hashlib.sha256(CONTEXT + b"\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)
