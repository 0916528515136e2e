"""SOURCE strings: every accepted form, and one clear refusal for the rest."""

from __future__ import annotations

import pytest

from digest.accounts.errors import BadSource
from digest.accounts.sources import source_parse
from digest.accounts.values import SourceRef
from digest.vocabulary import Provider


@pytest.mark.parametrize(("text", "expected"), [
    ("github:octocat", SourceRef(Provider.GITHUB, "octocat")),
    ("GitHub:@Octo-Cat", SourceRef(Provider.GITHUB, "Octo-Cat")),
    ("bluesky:alice.bsky.social", SourceRef(Provider.BLUESKY, "alice.bsky.social")),
    ("bluesky:@Alice.Example.COM", SourceRef(Provider.BLUESKY, "alice.example.com")),
    ("bluesky:did:plc:ewvi7nxzyoun6zhxrhs64oiz", SourceRef(Provider.BLUESKY, "did:plc:ewvi7nxzyoun6zhxrhs64oiz")),
    ("mastodon:@alice@Mastodon.Social", SourceRef(Provider.MASTODON, "alice", "https://mastodon.social")),
    ("mastodon:alice@hachyderm.io", SourceRef(Provider.MASTODON, "alice", "https://hachyderm.io")),
    ("https://fosstodon.org/@bob", SourceRef(Provider.MASTODON, "bob", "https://fosstodon.org")),
    ("mastodon:http://127.0.0.2:8080/@bob/", SourceRef(Provider.MASTODON, "bob", "http://127.0.0.2:8080")),
    ("https://a.example/@bob@b.example", SourceRef(Provider.MASTODON, "bob", "https://b.example")),
])
def test_accepted_forms(text, expected):
    assert source_parse(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("octocat", "not a source: 'octocat'"),
    ("twitter:jack", "not a source: 'twitter:jack'"),
    ("github:", "not a GitHub login"),
    ("github:a--b", "not a GitHub login"),
    ("github:" + "a" * 40, "not a GitHub login"),
    ("bluesky:alice", "not a Bluesky handle or DID"),
    ("bluesky:did:plc:short", "not a Bluesky handle or DID"),
    ("mastodon:@alice", "not a Mastodon account"),
    ("mastodon:@al ice@x.example", "not a Mastodon account"),
    ("https://x.example/users/alice", "not a Mastodon profile URL"),
    ("https://x.example/@alice/123", "not a Mastodon profile URL"),
])
def test_refusals_are_one_line(text, message):
    with pytest.raises(BadSource, match=message) as refused:
        source_parse(text)
    assert "\n" not in str(refused.value)


def test_a_source_prints_as_it_is_typed():
    assert str(source_parse("mastodon:@alice@mastodon.social")) == "mastodon:@alice@mastodon.social"
    assert str(source_parse("github:octocat")) == "github:octocat"
