"""Signed link tokens: one spelling per token, purposes kept apart, keys rotate."""

import datetime as dt
import random
import string

import pytest
from itsdangerous import URLSafeSerializer

from digest.tokens import (
    BadPayload,
    BadTokenSignature,
    DeliveryRef,
    FeedRef,
    MalformedToken,
    ReturnPathSigner,
    SubscriptionRef,
    TokenError,
    TokenSigner,
    WrongPurpose,
    _CompactJSON,
    _return_path_mac,
)

KEY = "k" * 40
REF = SubscriptionRef(123, "daily")
ALPHABET = string.ascii_letters + string.digits + "-_"


def test_round_trip_and_purposes():
    signer = TokenSigner([KEY])
    token = signer.sign("unsubscribe", REF)
    assert signer.verify("unsubscribe", token) == REF
    with pytest.raises(WrongPurpose):
        signer.verify("resubscribe", token)


def test_tokens_are_itsdangerous_own_spelling_with_the_newest_key():
    """Signing skips itsdangerous' try at compression (never shorter for these payloads):
    the tokens are still exactly what its serializer writes, and it reads them."""
    signer = TokenSigner([KEY, "old-" + KEY])
    chosen = random.Random(7)
    for _ in range(2_000):
        ref = SubscriptionRef(chosen.randint(1, 2**63 - 1), chosen.choice(["daily", "weekly"]))
        for purpose in ("unsubscribe", "resubscribe"):
            theirs = URLSafeSerializer(KEY, salt=f"lanyard.{purpose}", serializer=_CompactJSON)
            token = signer.sign(purpose, ref)
            assert token == theirs.dumps([ref.subscription_id, ref.list_name])
            assert theirs.loads(token) == [ref.subscription_id, ref.list_name]
    feed = URLSafeSerializer(KEY, salt="lanyard.calendar", serializer=_CompactJSON)
    assert signer.sign_feed(FeedRef(5, 9)) == feed.dumps([5, 9])
    with pytest.raises(ValueError, match="unknown token purpose"):
        signer.sign("nonsense", REF)


def test_feed_tokens_round_trip_and_keep_to_their_purpose():
    signer = TokenSigner([KEY])
    token = signer.sign_feed(FeedRef(7, 3))
    assert signer.verify_feed(token) == FeedRef(7, 3)
    assert TokenSigner(["new" * 14, KEY]).verify_feed(token) == FeedRef(7, 3)  # rotation
    with pytest.raises(WrongPurpose):
        signer.verify("unsubscribe", token)
    with pytest.raises(WrongPurpose):
        signer.verify_feed(signer.sign("unsubscribe", REF))
    with pytest.raises(BadPayload):
        signer.verify_feed(signer._serializers["calendar"].dumps([7, 0]))
    with pytest.raises(ValueError):
        signer.sign("calendar", REF)


def test_old_key_verifies_after_a_new_one_is_prepended():
    old = TokenSigner([KEY]).sign("unsubscribe", REF)
    rotated = TokenSigner(["n" * 40, KEY])
    assert rotated.verify("unsubscribe", old) == REF
    assert rotated.sign("unsubscribe", REF) != old  # the new key signs
    with pytest.raises(BadTokenSignature):
        TokenSigner(["n" * 40]).verify("unsubscribe", old)


def test_only_the_exact_spelling_verifies():
    """itsdangerous alone accepts a signature with stray characters or other spare bits."""
    signer = TokenSigner([KEY])
    token = signer.sign("unsubscribe", REF)
    payload, signature = token.split(".")
    variants = {payload + "." + signature[:-1] + c for c in ALPHABET}
    variants |= {token + "=", token + "!!!!", token + "====", payload + "." + signature[:5] + "==" + signature[5:]}
    variants |= {token + " ", " " + token, token.replace(".", ".."), token + "\n"}
    variants.discard(token)
    refused = 0
    for variant in variants:
        with pytest.raises(TokenError):
            signer.verify("unsubscribe", variant)
        refused += 1
    assert refused == len(variants) > 60


@pytest.mark.parametrize("token", ["", ".", "a.", ".a", "abc", "é.é", "a" * 600, "a.b.c"])
def test_malformed(token):
    with pytest.raises((MalformedToken, BadTokenSignature)):
        TokenSigner([KEY]).verify("unsubscribe", token)


# -- return paths (VERP) -------------------------------------------------------------------
DELIVERY = DeliveryRef(123, dt.date(2026, 12, 1))


def test_return_path_tokens_round_trip_in_lower_case_within_a_local_part():
    signer = ReturnPathSigner([KEY])
    token = signer.sign(DELIVERY)
    assert token == token.lower() and token.startswith("123.20261201.")
    assert signer.verify(token) == DELIVERY
    assert signer.verify(token.upper()) == DELIVERY  # mail servers may fold case
    biggest = signer.sign(DeliveryRef(2**63 - 1, dt.date(2026, 12, 31)))
    assert len("bounces+" + biggest) <= 64  # RFC 5321's limit for a local part


def test_return_path_tokens_rotate_and_refuse_other_keys_and_purposes():
    old = ReturnPathSigner([KEY]).sign(DELIVERY)
    assert ReturnPathSigner(["n" * 40, KEY]).verify(old) == DELIVERY
    with pytest.raises(BadTokenSignature):
        ReturnPathSigner(["n" * 40]).verify(old)
    with pytest.raises(MalformedToken):  # an unsubscribe token is not a return path
        ReturnPathSigner([KEY]).verify(TokenSigner([KEY]).sign("unsubscribe", REF))


def test_return_path_tokens_refuse_every_single_change():
    signer = ReturnPathSigner([KEY])
    token = signer.sign(DELIVERY)
    variants = {token[:i] + c + token[i + 1:] for i in range(len(token)) for c in "abz27.09"}
    variants |= {token[:i] + token[i + 1:] for i in range(len(token))} | {token + "a", "0" + token, token + " "}
    variants = {v for v in variants if v.lower() != token}
    for variant in variants:
        with pytest.raises(TokenError):
            signer.verify(variant)
    assert len(variants) > 300


def test_a_correctly_signed_impossible_date_is_refused():
    signer = ReturnPathSigner([KEY])
    body = "5.20261341"
    forged_by_us = f"{body}.{_return_path_mac(signer._keys[0], body)}"  # signed with the real key
    with pytest.raises(BadPayload):
        signer.verify(forged_by_us)
