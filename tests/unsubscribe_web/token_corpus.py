"""Mutations of genuine unsubscribe tokens, none of which may be accepted."""

from __future__ import annotations

import base64
import json
import random

from digest.tokens import SubscriptionRef, TokenSigner


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def mutated_tokens(signer: TokenSigner, refs: list[SubscriptionRef], seed: int = 8058) -> dict[str, str]:  # noqa: C901 -- one loop per kind of mutation
    """token → what kind of mutation it is. Every one must be refused as an
    unsubscribe token by ``signer``."""
    rng = random.Random(seed)
    corpus: dict[str, str] = {}
    genuine = [signer.sign("unsubscribe", ref) for ref in refs]

    def add(token: str, kind: str) -> None:
        if token not in genuine:
            corpus.setdefault(token, kind)

    for token in genuine[:3]:
        # Every single-bit flip of every character that stays printable ASCII.
        for index, char in enumerate(token):
            for bit in range(7):
                flipped = chr(ord(char) ^ (1 << bit))
                if flipped.isprintable() and flipped not in "/?#%":
                    add(token[:index] + flipped + token[index + 1:], "bit flip")
        # Every truncation, from either end.
        for length in range(len(token)):
            add(token[:length], "truncated")
            add(token[len(token) - length:], "truncated from the front")
        payload, signature = token.split(".")
        add(token + "A", "appended character")
        add(token + "=", "padding")
        add(token + "==", "padding")
        add(payload + "." + signature + "." + signature, "extra segment")
        add(payload + signature, "separator removed")
        add(signature + "." + payload, "payload and signature swapped")
        add(payload + ".", "no signature")
        add("." + payload + "." + signature, "marked compressed")
        # A signature whose last character differs only in its spare bits.
        for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
            add(payload + "." + signature[:-1] + char, "last signature character")
        # Stray characters that base64 decoding alone would skip.
        for stray in "!*~$=":
            add(payload + "." + signature[:4] + stray * 4 + signature[4:], "stray characters")

    # Payloads swapped between genuine tokens (each signature belongs to another payload).
    for first, second in zip(genuine, genuine[1:] + genuine[:1], strict=False):
        add(first.split(".")[0] + "." + second.split(".")[1], "swapped signature")
    # Forged payloads with a genuine token's signature.
    signature = genuine[0].split(".")[1]
    for payload in ([refs[0].subscription_id, "weekly"], [refs[0].subscription_id + 1, "daily"],
                    [refs[0].subscription_id], {"id": refs[0].subscription_id}, [], None, "x",
                    [refs[0].subscription_id, "daily", 1]):
        add(_b64(json.dumps(payload, separators=(",", ":")).encode()) + "." + signature, "forged payload")
    # The other purpose, and other keys.
    for ref in refs:
        add(signer.sign("resubscribe", ref), "resubscribe token")
    for n in range(60):
        other = TokenSigner([f"another-key-{n}-" + "x" * 32])
        add(other.sign("unsubscribe", refs[n % len(refs)]), "another key")
    # Correctly signed, but not a subscription reference.
    for payload in ([0, "daily"], [-1, "daily"], [True, "daily"], [1.5, "daily"], ["1", "daily"],
                    [1, "monthly"], [1, None], [[1], "daily"], {"subscription_id": 1}, "1", 1, None):
        add(signer._serializers["unsubscribe"].dumps(payload), "bad payload, signed")
    # Non-ASCII: look-alikes, inserted characters, whole strings.
    for token in genuine[:3]:
        for index in range(0, len(token), 5):
            for char in ("é", "а", "\u200b", "ﬀ", "🙂", "\u0000"):
                add(token[:index] + char + token[index:], "non-ASCII")
    add("ünsubscribe.ßignature", "non-ASCII")
    # Huge.
    for size in (513, 600, 1000, 1900):
        add((genuine[0] * (size // len(genuine[0]) + 1))[:size], "huge")
    # Random junk of plausible shape.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for _ in range(100):
        add("".join(rng.choices(alphabet, k=18)) + "." + "".join(rng.choices(alphabet, k=27)), "random")
    for junk in ("", ".", "..", "a.b", "null", "undefined", "%00", "' OR 1=1 --", "<script>", "${jndi:x}"):
        add(junk, "junk")
    return corpus
