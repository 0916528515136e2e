"""Accounts on other networks and their imported follow lists.

Owners: the schema is Django's (these models and their migrations); the rows are
written by ``digest/accounts/`` (``account_link``, ``follows_import``,
``account_unlink``) through the SQLAlchemy mirror in ``digest/stores/db.py``. The site
reads them and calls those services; it does not write these tables itself, so the
follows derived from them (``follow`` rows with an imported source) stay in step.
"""

from django.db import models
from django.utils import timezone

from ..events.models import Person


class Account(models.Model):
    """A person's account on GitHub, Mastodon or Bluesky, stored by its stable id.

    ``external_id`` never changes for the account: GitHub's numeric user id, a Mastodon
    account's ActivityPub URI (``uri``; ``url`` on servers that have no ``uri``), a
    Bluesky DID. ``handle`` (login, ``user@domain``, bsky handle) is for display only
    and may go stale. One external account belongs to at most one person.

    The fetch state of its follow list sits on the row: when it was last fetched, the
    ETag for a conditional refresh, how many accounts it follows, whether the list was
    cut at the cap, and the last failure (kept until a fetch succeeds).
    """

    class Provider(models.TextChoices):  # = digest.vocabulary.Provider
        GITHUB = "github", "GitHub"
        MASTODON = "mastodon", "Mastodon"
        BLUESKY = "bluesky", "Bluesky"

    class VerifiedVia(models.TextChoices):  # = digest.vocabulary.VerifiedVia
        OAUTH = "oauth", "signed in"
        REL_ME = "rel_me", 'rel="me" link'
        DOMAIN_HANDLE = "domain_handle", "handle on own domain"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="accounts")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    external_id = models.CharField(max_length=300)
    handle = models.CharField(max_length=300)
    profile_url = models.CharField(max_length=500, blank=True, default="")
    verified = models.BooleanField(default=False)
    verified_via = models.CharField(max_length=16, choices=VerifiedVia.choices, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)
    added_by = models.CharField(max_length=150, blank=True, default="")  # who linked it: a handle, "cli", "oauth"
    created_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(null=True, blank=True)  # the last successful fetch (or 304)
    fetch_etag = models.CharField(max_length=300, blank=True, default="")
    following_count = models.PositiveIntegerField(default=0)
    following_capped = models.BooleanField(default=False)
    fetch_error = models.CharField(max_length=300, blank=True, default="")
    fetch_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "account"
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="account_unique_external"),
        ]
        indexes = [models.Index(fields=["fetched_at"], name="account_fetched")]  # refresh --due

    def __str__(self):
        return f"{self.provider}:{self.handle} ({self.person_id})"


class AccountFollowing(models.Model):
    """One account that an account follows, by stable id, whether or not it is a lanyard person's.

    Only the id is kept (no handle, no name): for accounts that are nobody's here that is
    all lanyard stores. When someone links an account with this (provider, external_id),
    every row naming it becomes a follow (``digest/accounts/follows.py``).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="following")
    provider = models.CharField(max_length=16, choices=Account.Provider.choices)
    external_id = models.CharField(max_length=300)

    class Meta:
        db_table = "account_following"
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="account_following_unique"),
        ]
        indexes = [models.Index(fields=["provider", "external_id"], name="account_following_external")]

    def __str__(self):
        return f"{self.account_id} → {self.provider}:{self.external_id}"
