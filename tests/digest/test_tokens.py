"""Signed link tokens: one spelling per token, purposes kept apart, keys rotate."""

import string

import pytest

from digest.tokens import (
    BadTokenSignature,
    MalformedToken,
    SubscriptionRef,
    TokenError,
    TokenSigner,
    WrongPurpose,
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
