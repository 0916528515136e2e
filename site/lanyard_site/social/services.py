"""Writes of the sign-in flows and the follows page. Accounts and follows are written by
``digest/accounts/`` (through :mod:`lanyard_site.stores`' engine); the import is a Celery
task sent after commit; tokens are sealed before they are stored."""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import contextmanager

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.db import router, transaction

from digest.accounts.env import AccountsEnv
from digest.accounts.errors import AccountError, AccountTaken
from digest.accounts.linking import account_link, account_unlink
from digest.accounts.values import Identity
from digest.sealed import Sealer
from digest.stores.keys import RedisKeys
from digest.vocabulary import Provider, VerifiedVia

from .. import stores
from ..accounts.models import Account
from ..events.models import Person
from ..mailing.models import Subscription
from . import mastodon, selectors
from .models import AccountToken, MastodonServer

log = logging.getLogger(__name__)
# How long "importing…" is shown for a queued import before the page says it has not run.
IMPORT_MARK_SECONDS = 600


class ConnectRefused(ValueError):
    """A connect or disconnect that cannot be done; the message is for the person."""


def refused(error: Exception) -> ConnectRefused:
    """The accounts core's one line (it starts in lower case, for the CLI's "error: …") as a sentence."""
    line = str(error)
    return ConnectRefused(f"{line[:1].upper()}{line[1:]}; nothing was changed.")


@contextmanager
def accounts_env():
    """The accounts services' handles on the site's stores, with a guarded client for this flow."""
    with stores.http_client() as http:
        engine = stores.engine(router.db_for_write(Account))  # the database the ORM writes accounts to
        yield AccountsEnv.from_settings(settings.LANYARD, engine=engine, http=http, graph=stores.graph())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sealer() -> Sealer:
    return Sealer(settings.LANYARD.secret_keys)


def person_for_new_user(*, user: User, name: str, claim=None) -> Person:
    """The lanyard person of a user made by a sign-in with another network: the unclaimed
    person an organiser linked that account to, or a new one; a daily digest when the
    network gave an address."""
    with transaction.atomic(using=router.db_for_write(Person)):
        person = None
        if claim is not None and claim.user_id is None:
            person = Person.objects.filter(pk=claim.person_id, user__isnull=True).first()
        if person is None:
            person = Person.objects.create(user=user, name=name[:200] or user.get_username())
        else:
            person.user = user
            person.save(update_fields=["user"])
        if user.email and not person.subscriptions.exists():
            Subscription.objects.create(person=person, email=user.email, list=Subscription.List.DAILY)
    return person


def github_account_connect(*, request, user: User, account) -> int | None:
    """Link a GitHub account that allauth signed in with (or connected) to the user's person,
    verified by OAuth, and import its follow list once that commits. Linked already: nothing."""
    person = Person.objects.filter(user=user).first()
    if person is None:
        person = person_for_new_user(user=user, name=user.get_username())
    extra = account.extra_data
    login = str(extra.get("login") or account.uid)
    identity = Identity(Provider.GITHUB, str(account.uid), login, str(extra.get("html_url") or ""),
                        following_count=extra.get("following"), api_id=login)
    return account_connect(person=person, identity=identity, verified_via=VerifiedVia.OAUTH)


def account_connect(*, person: Person, identity: Identity, verified_via: VerifiedVia | None) -> int | None:
    """Link the account (refused when another person has it) and queue its import; None when
    it was linked to this person already and verified (nothing to do)."""
    existing = Account.objects.filter(provider=identity.provider, external_id=identity.external_id).first()
    if existing is not None and existing.person_id != person.pk:
        raise ConnectRefused(f"This {Account.Provider(identity.provider).label} account belongs to another lanyard "
                             "profile; nothing was changed.")
    if existing is not None and (existing.verified or verified_via is None):
        return None
    try:
        with accounts_env() as env:
            linked = account_link(env, person_id=person.pk, identity=identity, verified_via=verified_via,
                                  added_by=person.handle, now=_now())
    except AccountTaken as conflict:
        raise ConnectRefused(str(conflict)) from None
    except AccountError as error:
        raise refused(error) from None
    account_import_queue(account_id=linked.account_id)
    return linked.account_id


def account_import_queue(*, account_id: int) -> None:
    """Mark the account importing (the page shows it) and send the import task after commit."""
    transaction.on_commit(lambda: _send_import(account_id), using=router.db_for_write(Account))


def _send_import(account_id: int) -> None:
    keys = RedisKeys(settings.LANYARD.redis.prefix)
    try:
        stores.redis().set(keys.follows_importing(account_id), str(time.time()), ex=IMPORT_MARK_SECONDS)
    except Exception as error:  # the page then shows the last import, not "importing…"
        log.warning("could not mark account %s importing (%s)", account_id, error)
    try:
        stores.scheduler_enqueue().follows_import(account_id, retry=False)
    except Exception as error:  # the refresh sends it again; the page says the import has not run
        log.warning("could not queue the import of account %s (%s)", account_id, error)
        try:
            stores.redis().delete(keys.follows_importing(account_id))
        except Exception:  # Redis is the fault too: the mark expires by itself
            pass


def account_disconnect(*, person: Person, user: User, account_id: int) -> Account:
    """Revoke the token on its server (best effort: a server that is away does not keep a
    person connected), delete it, then the account, its list and that source's follows;
    manual follows stay. Refused for the last way to sign in of a user with no password."""
    account = Account.objects.filter(pk=account_id, person=person).first()
    if account is None:
        raise ConnectRefused("That account is not connected to your profile; nothing was changed.")
    sign_ins = _sign_ins(person=person, user=user)
    if not user.has_usable_password() and sign_ins == {account.pk}:
        raise ConnectRefused("You sign in with this account and have no password: set one first (Forgot your "
                             "password? on the sign-in page), then disconnect; nothing was changed.")
    token = AccountToken.objects.filter(account=account).select_related("server").first()
    if token is not None:
        _revoke(token)
        token.delete()
    if account.provider == Provider.GITHUB:
        SocialAccount.objects.filter(user=user, provider="github", uid=account.external_id).delete()
    with accounts_env() as env:
        account_unlink(env, account_id=account.pk, now=_now())
    return account


def _sign_ins(*, person: Person, user: User) -> set[int]:
    """The accounts the user can sign in with: GitHub through allauth, Mastodon through its OAuth."""
    github = SocialAccount.objects.filter(user=user, provider="github").values_list("uid", flat=True)
    accounts = person.accounts.filter(verified_via=VerifiedVia.OAUTH)
    return {a.pk for a in accounts if a.provider == Provider.MASTODON or a.external_id in set(github)}


def _revoke(token: AccountToken) -> None:
    server = token.server
    seal = sealer()
    try:
        registration = mastodon.Registration(server.client_id, seal.open(server.client_secret_sealed))
        with stores.http_client() as http:
            mastodon.token_revoke(http, origin=server.origin, registration=registration,
                                  token=seal.open(token.token_sealed))
    except Exception as error:  # the token is deleted here whatever the server says
        log.warning("could not revoke the token of account %s on %s (%s)", token.account_id, server.origin, error)


def signin_failure_message(provider_name: str, error=None, exception=None) -> str:
    """One line for a failed sign-in with another network; nothing was changed."""
    text = str(exception or "").lower()
    if "state" in text or str(error) == "cancelled":
        if str(error) == "cancelled":
            return f"Sign-in with {provider_name} was cancelled; nothing was changed."
        return (f"Sign-in with {provider_name} was refused: its answer did not match this browser's request "
                "(state); nothing was changed. Please try again.")
    return f"Sign-in with {provider_name} failed ({error or 'no answer'}); nothing was changed. Please try again."


def account_owner_checked(*, provider: Provider, external_id: str, user: User | None):
    """Who has this external account, when the visitor may use it: refused when it is another
    signed-in user's, or (signed out) on a claimed person without proof it is theirs."""
    owner = selectors.account_owner(provider=provider, external_id=external_id)
    if owner is None:
        return None
    name = Account.Provider(provider).label
    if user is not None and owner.user_id not in (None, user.pk):
        raise ConnectRefused(f"This {name} account belongs to another lanyard profile; nothing was changed.")
    if user is None and owner.user_id is not None and not owner.verified:
        raise ConnectRefused(f"This {name} account is listed on @{owner.handle}'s profile; sign in to it and "
                             f"connect {name} from there.")
    return owner


def sign_up_undo(*, request, user: User, claim, since: dt.datetime) -> None:
    """Undo a brand-new user's sign-in whose account link was refused, so that "nothing was
    changed" is true: sign out, delete the user (and allauth's rows of it) and the person made
    for them; a person an organiser had made, which the sign-in claimed (``claim``), goes back
    to unclaimed without the subscriptions made ``since`` the sign-in began. The link is written
    by ``digest/accounts/`` on its own connection, so one transaction cannot hold both."""
    if request.user.is_authenticated and request.user.pk == user.pk:
        logout(request)
    claimed = claim.person_id if claim is not None and claim.user_id is None else None
    with transaction.atomic(using=router.db_for_write(User)):
        for person in Person.objects.filter(user=user):
            if person.pk == claimed:
                Subscription.objects.filter(person=person, created_at__gte=since).delete()
                Person.objects.filter(pk=person.pk).update(user=None)
            else:
                person.delete()
        user.delete()


def user_for_signin(*, username: str) -> User:
    """A new user without a password (they sign in with the other network), under a free username."""
    base = "".join(c for c in username if c.isalnum() or c in "_.-")[:140] or "member"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    user = User(username=candidate)
    user.set_unusable_password()
    user.save()
    return user


def token_keep(*, account_id: int, server: MastodonServer, token: str) -> None:
    """Keep the newest token sealed; an older one of the account is revoked on its server."""
    old = AccountToken.objects.filter(account_id=account_id).select_related("server").first()
    if old is not None:
        _revoke(old)
    AccountToken.objects.update_or_create(
        account_id=account_id,
        defaults={"token_sealed": sealer().seal(token), "scopes": mastodon.SCOPES, "server": server},
    )
