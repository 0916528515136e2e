"""Sealed secrets: what a database dump shows of a token, and secret-key rotation."""

from __future__ import annotations

import pytest

from digest.sealed import Sealer, Unsealable

OLD = "old-secret-key-that-is-long-enough-0123456789-abcdefgh"
NEW = "new-secret-key-that-is-long-enough-9876543210-zyxwvuts"


def test_a_sealed_token_shows_nothing_of_itself_and_opens_again():
    sealed = Sealer([OLD]).seal("mastodon-token-abc123")
    assert "mastodon-token" not in sealed and "abc123" not in sealed
    assert Sealer([OLD]).open(sealed) == "mastodon-token-abc123"
    assert Sealer([OLD]).seal("same") != Sealer([OLD]).seal("same")  # a fresh IV each time


def test_rotation_new_key_first_still_opens_what_the_old_key_sealed():
    sealed = Sealer([OLD]).seal("t0ken")
    assert Sealer([NEW, OLD]).open(sealed) == "t0ken"
    resealed = Sealer([NEW, OLD]).seal("t0ken")
    assert Sealer([NEW]).open(resealed) == "t0ken"


@pytest.mark.parametrize("damage", [lambda s: s[:-4] + "AAAA", lambda s: "not sealed at all", lambda s: "é"])
def test_tampered_or_foreign_values_are_refused_in_one_line(damage):
    sealed = Sealer([OLD]).seal("t0ken")
    with pytest.raises(Unsealable, match="could not be opened with any of LANYARD_SECRET_KEYS"):
        Sealer([OLD]).open(damage(sealed))


def test_a_value_sealed_under_a_dropped_key_is_refused():
    with pytest.raises(Unsealable):
        Sealer([NEW]).open(Sealer([OLD]).seal("t0ken"))
