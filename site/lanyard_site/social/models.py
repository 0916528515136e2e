"""What sign-in with another network leaves behind: each Mastodon server's registration of
lanyard, and the access tokens kept for revoking them (and for follow lists their owner
hid). Secrets are sealed (``digest/sealed.py``): a database dump alone gives none away.
"""

from django.db import models
from django.utils import timezone

from ..accounts.models import Account


class MastodonServer(models.Model):
    """lanyard registered as an OAuth app on one Mastodon (or compatible) server, on first use.

    ``origin`` is ``https://host[:port]``; the registration is made again when lanyard's
    callback URL changes (a new base URL), since the server checks it.
    """

    origin = models.CharField(max_length=300, unique=True)
    client_id = models.CharField(max_length=300)
    client_secret_sealed = models.TextField()
    redirect_uri = models.CharField(max_length=500)
    scopes = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "mastodon_server"

    def __str__(self):
        return self.origin


class AccountToken(models.Model):
    """A user's access token on the account's network, sealed. Only Mastodon's are kept:
    disconnecting revokes them on the server; GitHub's sign-in token is used once and dropped.

    No database-level foreign key: ``digest/accounts/`` deletes accounts through SQLAlchemy
    and deletes their tokens first (``db.account_token``), the site through its services.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="token", db_constraint=False)
    token_sealed = models.TextField()
    scopes = models.CharField(max_length=200)
    server = models.ForeignKey(MastodonServer, on_delete=models.PROTECT, related_name="tokens")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "account_token"

    def __str__(self):
        return f"token of account {self.account_id}"
