"""Mutations of a genuine calendar feed token, none of which may open a feed."""

from __future__ import annotations

import base64
import json
import random

from digest.tokens import FEED_PURPOSE, FeedRef, SubscriptionRef, TokenSigner


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def mutated_feed_tokens(signer: TokenSigner, ref: FeedRef, *, count: int = 1000, seed: int = 5545) -> list[str]:  # noqa: C901 -- one loop per kind of mutation
    """``count`` distinct tokens near the genuine one for ``ref``: bit flips, truncations,
    spliced signatures, forged payloads, other purposes and keys, junk."""
    rng = random.Random(seed)
    genuine = signer.sign_feed(ref)
    payload, signature = genuine.split(".")
    corpus: dict[str, None] = {}

    def add(token: str) -> None:
        if token != genuine:
            corpus.setdefault(token, None)

    for length in range(len(genuine)):
        add(genuine[:length])
        add(genuine[len(genuine) - length :])
    for index, char in enumerate(genuine):
        for bit in range(7):
            flipped = chr(ord(char) ^ (1 << bit))
            if flipped.isprintable() and flipped not in "/?#%\\":
                add(genuine[:index] + flipped + genuine[index + 1 :])
    for forged in (
        [ref.person_id, ref.feed_version + 1],
        [ref.person_id + 1, ref.feed_version],
        [ref.person_id],
        [ref.person_id, ref.feed_version, 1],
        {"p": ref.person_id},
        [],
        None,
        "x",
        [0, 1],
        [True, 1],
    ):
        add(_b64(json.dumps(forged, separators=(",", ":")).encode()) + "." + signature)
    for bad in ([0, 1], [-1, 1], [1, 0], [1.5, 1], ["1", 1], [1, None], [[1], 1], {"person": 1}, 1, None):
        add(signer._serializers[FEED_PURPOSE].dumps(bad))
    add(signer.sign("unsubscribe", SubscriptionRef(ref.person_id, "daily")))
    add(signer.sign("resubscribe", SubscriptionRef(ref.person_id, "daily")))
    for n in range(40):
        add(TokenSigner([f"some-other-key-{n}-" + "y" * 32]).sign_feed(ref))
    add(payload + "." + signature + "." + signature)
    add(payload + signature)
    add(signature + "." + payload)
    add("." + payload + "." + signature)
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
        add(payload + "." + signature[:-1] + char)
    for stray in "!*~$=":
        add(payload + "." + signature[:4] + stray * 4 + signature[4:])
    add(genuine * 20)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    while len(corpus) < count:
        add("".join(rng.choices(alphabet, k=len(payload))) + "." + "".join(rng.choices(alphabet, k=len(signature))))
    return list(corpus)[:count]
