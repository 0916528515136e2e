"""Stateless signed tokens for the links in emails (itsdangerous).

A token is signed data, so nothing is stored per link: ``<payload>.<signature>``, URL
safe, with a compact payload (the subscription id and its list; for a calendar feed, the
person id and their feed version, so bumping the version revokes every older feed link). Each *purpose* signs
with its own salt, so a token minted to resubscribe is refused as an unsubscribe token
and the other way round. Keys rotate: the first configured key signs, every configured
key verifies. Tokens never expire: a link in an email from last year must still work.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, BadSignature, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from digest.vocabulary import DigestList, SubscriptionAction

FEED_PURPOSE = "calendar"  # a person's calendar feed (/calendar/<token>.ics)
PURPOSES = (*SubscriptionAction, FEED_PURPOSE)
LISTS = tuple(DigestList)
MAX_TOKEN_LENGTH = 512  # far above any real token; longer input is refused unread
# payload "." signature, both unpadded URL-safe base64; a leading "." marks a compressed
# payload. itsdangerous alone skips stray characters and ignores a last character's
# spare bits, so without this check many spellings of one token would verify.
_SHAPE = re.compile(r"\.?[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)")


class TokenError(ValueError):
    """A token was refused. Subclasses say why; none of them reveals key material."""


class MalformedToken(TokenError):
    """Not a token at all: empty, too long, not ASCII, wrong shape."""


class BadTokenSignature(TokenError):
    """Tampered with, truncated, or signed with a key that is not configured."""


class WrongPurpose(TokenError):
    """A genuine token, minted for another purpose."""

    def __init__(self, purpose: str):
        self.purpose = purpose
        super().__init__(f"this token is for {purpose}")


class BadPayload(TokenError):
    """Correctly signed, but the payload is not a subscription reference (a bug or an old format)."""


@dataclass(frozen=True, slots=True)
class SubscriptionRef:
    subscription_id: int
    list_name: str


@dataclass(frozen=True, slots=True)
class FeedRef:
    """A person's calendar feed: valid while ``feed_version`` is the person's current one."""

    person_id: int
    feed_version: int


class _CompactJSON:
    """JSON without spaces: the payload is part of the URL."""

    @staticmethod
    def dumps(obj: object) -> str:
        return json.dumps(obj, separators=(",", ":"))

    @staticmethod
    def loads(data: str | bytes) -> Any:
        return json.loads(data)


class TokenSigner:
    """Signs and verifies tokens of every purpose with one key ring."""

    def __init__(self, secret_keys: Sequence[str]):
        if not secret_keys or not all(secret_keys):
            raise ValueError("at least one non-empty secret key is needed")
        # itsdangerous signs with the *last* key of a list; ours signs with the first.
        ring = list(reversed(list(secret_keys)))
        self._serializers = {
            purpose: URLSafeSerializer(ring, salt=f"lanyard.{purpose}", serializer=_CompactJSON)
            for purpose in PURPOSES
        }
        # Each purpose's signer made once (the serializer makes one per call).
        self._signers = {purpose: serializer.make_signer() for purpose, serializer in self._serializers.items()}

    def sign(self, purpose: str, ref: SubscriptionRef) -> str:
        if purpose == FEED_PURPOSE:
            raise ValueError("calendar feed tokens are signed with sign_feed")
        return self._dumps(purpose, [ref.subscription_id, ref.list_name])

    def verify(self, purpose: str, token: str) -> SubscriptionRef:
        """The subscription a token refers to, or a :class:`TokenError` saying why not."""
        if purpose == FEED_PURPOSE:
            raise ValueError("calendar feed tokens are verified with verify_feed")
        return _parse_payload(self._loads(purpose, token))

    def sign_feed(self, ref: FeedRef) -> str:
        return self._dumps(FEED_PURPOSE, [ref.person_id, ref.feed_version])

    def _dumps(self, purpose: str, payload: list) -> str:
        """``URLSafeSerializer.dumps`` without its try at zlib, which cost 20-30 µs of the
        unsubscribe endpoint's every answer (bench/unsubscribe.py) and never shortens a
        payload this small (zlib adds six bytes of its own); ``loads`` reads both forms."""
        self._serializer(purpose)  # an unknown purpose: the same error as ever
        data = base64_encode(_CompactJSON.dumps(payload).encode("utf-8"))
        return self._signers[purpose].sign(data).decode("ascii")

    def verify_feed(self, token: str) -> FeedRef:
        """The feed a token names (the caller compares its version with the person's), or a :class:`TokenError`."""
        payload = self._loads(FEED_PURPOSE, token)
        if (isinstance(payload, list) and len(payload) == 2 and all(_positive_int(v) for v in payload)):
            return FeedRef(payload[0], payload[1])
        raise BadPayload("the token does not name a calendar feed")

    def _loads(self, purpose: str, token: str) -> Any:
        serializer = self._serializer(purpose)
        if not token or len(token) > MAX_TOKEN_LENGTH or not _canonical(token):
            raise MalformedToken("not a lanyard link token")
        try:
            return serializer.loads(token)
        except BadSignature:
            for other, other_serializer in self._serializers.items():
                if other != purpose and _verifies(other_serializer, token):
                    raise WrongPurpose(other) from None
            raise BadTokenSignature("the link's signature does not match") from None

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        try:
            return self._serializers[purpose]
        except KeyError:
            raise ValueError(f"unknown token purpose {purpose!r}; known: {', '.join(PURPOSES)}") from None


def _canonical(token: str) -> bool:
    shape = _SHAPE.fullmatch(token)
    if shape is None:
        return False
    signature = shape.group(1)
    try:
        return base64_encode(base64_decode(signature)) == signature.encode("ascii")
    except BadData:  # a length no base64 has
        return False


def _verifies(serializer: URLSafeSerializer, token: str) -> bool:
    try:
        serializer.loads(token)
    except BadSignature:
        return False
    return True


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _parse_payload(payload: Any) -> SubscriptionRef:
    if isinstance(payload, list) and len(payload) == 2 and _positive_int(payload[0]) and payload[1] in LISTS:
        return SubscriptionRef(payload[0], payload[1])
    raise BadPayload("the token does not name a subscription")


# -- the return path (VERP) ------------------------------------------------------------
#
# The envelope sender of each digest carries a token naming the delivery (subscription
# and digest date), so a bounce sent back to it says which delivery failed without
# anything stored per message. Unlike link tokens it lives in an address's local part,
# which some mail servers fold to lower case and which may hold at most 64 characters:
# so it is ``<subscription id>.<yyyymmdd>.<signature>``, the signature a truncated
# HMAC-SHA256 (120 bits, its own purpose salt) in lower-case base32.

RETURN_PATH_PURPOSE = "bounce"
_RETURN_PATH_MAC_BYTES = 15  # 120 bits: 24 base32 characters, no padding
_RETURN_PATH_SHAPE = re.compile(r"([1-9][0-9]{0,18})\.([0-9]{8})\.([a-z2-7]{24})")


@dataclass(frozen=True, slots=True)
class DeliveryRef:
    """One delivery of the ledger: a subscription's digest of one date."""

    subscription_id: int
    digest_date: dt.date


class ReturnPathSigner:
    """Signs and verifies return-path tokens; the first key signs, every key verifies."""

    def __init__(self, secret_keys: Sequence[str]):
        if not secret_keys or not all(secret_keys):
            raise ValueError("at least one non-empty secret key is needed")
        # itsdangerous derives a key per purpose (salt) from each secret, as for the links.
        self._keys = [
            Signer(key, salt=f"lanyard.{RETURN_PATH_PURPOSE}", digest_method=hashlib.sha256).derive_key()
            for key in secret_keys
        ]

    def sign(self, ref: DeliveryRef) -> str:
        body = f"{ref.subscription_id}.{ref.digest_date:%Y%m%d}"
        return f"{body}.{_return_path_mac(self._keys[0], body)}"

    def verify(self, token: str) -> DeliveryRef:
        """The delivery a token names, or a :class:`TokenError` saying why not.

        Case does not matter (servers may fold it); any other change is refused.
        """
        if not isinstance(token, str) or not token or len(token) > 64 or not token.isascii():
            raise MalformedToken("not a return-path token")
        shape = _RETURN_PATH_SHAPE.fullmatch(token.lower())
        if shape is None:
            raise MalformedToken("not a return-path token")
        subscription_id, day, mac = shape.groups()
        body = f"{subscription_id}.{day}"
        if not any(hmac.compare_digest(_return_path_mac(key, body), mac) for key in self._keys):
            raise BadTokenSignature("the return path's signature does not match")
        try:
            digest_date = dt.datetime.strptime(day, "%Y%m%d").date()
        except ValueError:
            raise BadPayload("the token does not name a digest date") from None
        if int(subscription_id) >= 2**63:
            raise BadPayload("the token does not name a subscription")
        return DeliveryRef(int(subscription_id), digest_date)


def _return_path_mac(key: bytes, body: str) -> str:
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:_RETURN_PATH_MAC_BYTES]
    return base64.b32encode(mac).decode("ascii").lower()
