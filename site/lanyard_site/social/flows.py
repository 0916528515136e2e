"""The Mastodon sign-in/connect flow (OAuth code flow with ``state``) and connecting a
Bluesky handle. Each step that fails raises :class:`services.ConnectRefused` with one line
for the person, before anything is written."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.db import IntegrityError, router, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from digest.accounts.errors import AccountError
from digest.accounts.linking import identity_find
from digest.accounts.sources import source_parse
from digest.accounts.values import Identity
from digest.accounts.verify import NotVerified, account_verify
from digest.vocabulary import Provider, VerifiedVia

from .. import stores
from ..accounts.models import Account
from ..events.models import Person
from . import mastodon, services
from .models import MastodonServer

SESSION_KEY = "lanyard_mastodon_oauth"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _redirect_uri() -> str:
    return settings.LANYARD.site.base_url + reverse("mastodon_callback")


def _refused(error: Exception) -> services.ConnectRefused:
    return services.ConnectRefused(str(error))


def server_registration(*, origin: str) -> tuple[MastodonServer, mastodon.Registration]:
    """lanyard's registration on this server, made on first use (again when the callback URL changed)."""
    seal = services.sealer()
    server = MastodonServer.objects.filter(origin=origin).first()
    if server is not None and server.redirect_uri == _redirect_uri() and server.scopes == mastodon.SCOPES:
        return server, mastodon.Registration(server.client_id, seal.open(server.client_secret_sealed))
    with stores.http_client() as http:
        registration = mastodon.app_register(http, origin=origin, redirect_uri=_redirect_uri(),
                                             website=settings.LANYARD.site.base_url)
    values = {"client_id": registration.client_id, "client_secret_sealed": seal.seal(registration.client_secret),
              "redirect_uri": _redirect_uri(), "scopes": mastodon.SCOPES}
    try:
        with transaction.atomic(using=router.db_for_write(MastodonServer)):
            server, _ = MastodonServer.objects.update_or_create(origin=origin, defaults=values)
    except IntegrityError:  # registered by a simultaneous first visitor: use theirs
        return server_registration(origin=origin)
    return server, registration


def mastodon_authorize(request: HttpRequest, *, typed: str) -> str:
    """Where to send the browser: the server's authorize page, with a fresh ``state`` kept in the session."""
    try:
        origin = mastodon.server_origin(typed, allow_networks=settings.LANYARD.http.allow_networks)
        server, _ = server_registration(origin=origin)
    except mastodon.MastodonRefused as error:
        raise _refused(error) from None
    state = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {"state": state, "origin": origin}
    return mastodon.authorize_url(origin=origin, client_id=server.client_id, redirect_uri=_redirect_uri(),
                                  state=state)


def mastodon_complete(request: HttpRequest) -> str:
    """The callback: check ``state``, exchange the code, read the account, then sign in or connect."""
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not state or not secrets.compare_digest(str(pending.get("state", "")), state):
        raise services.ConnectRefused("Mastodon sign-in refused: its answer did not match this browser's request "
                                      "(state); nothing was changed. Please start again.")
    if request.GET.get("error"):
        raise services.ConnectRefused("Mastodon sign-in was cancelled on the server; nothing was changed.")
    code = request.GET.get("code", "")
    if not code:
        raise services.ConnectRefused("Mastodon sent no authorization code back; nothing was changed.")
    origin = pending["origin"]
    try:
        server, registration = server_registration(origin=origin)
        with stores.http_client() as http:
            token = mastodon.code_exchange(http, origin=origin, registration=registration,
                                           redirect_uri=_redirect_uri(), code=code[:500])
            account = mastodon.whoami(http, origin=origin, token=token)
    except mastodon.MastodonRefused as error:
        raise _refused(error) from None
    return _mastodon_signed_in(request, server=server, account=account, token=token)


def _mastodon_signed_in(request: HttpRequest, *, server: MastodonServer, account: mastodon.MastodonAccount,
                        token: str) -> str:
    owner = services.account_owner_checked(provider=Provider.MASTODON, external_id=account.uri,
                                           user=request.user if request.user.is_authenticated else None)
    new_user = None
    if request.user.is_authenticated:
        person = Person.objects.filter(user=request.user).first() or services.person_for_new_user(
            user=request.user, name=request.user.get_username())
        done = f"Connected your Mastodon account {account.acct}."
    elif owner is not None and owner.user_id is not None:
        user = User.objects.get(pk=owner.user_id)
        login(request, user, backend=BACKEND)
        person = Person.objects.get(pk=owner.person_id)
        done = f"Signed in with Mastodon as {account.acct}."
    else:
        since = timezone.now()
        new_user = services.user_for_signin(username=account.acct.partition("@")[0])
        person = services.person_for_new_user(user=new_user, name=account.acct.partition("@")[0], claim=owner)
        login(request, new_user, backend=BACKEND)
        done = f"Welcome, {person.name}: signed in with Mastodon as {account.acct}."
    identity = Identity(Provider.MASTODON, account.uri, account.acct, account.url, api_id=account.api_id)
    try:
        account_id = services.account_connect(person=person, identity=identity, verified_via=VerifiedVia.OAUTH)
    except services.ConnectRefused:
        if new_user is not None:  # the link lost a race: the message says nothing was changed
            services.sign_up_undo(request=request, user=new_user, claim=owner, since=since)
        raise
    account_id = account_id or Account.objects.get(provider=Provider.MASTODON, external_id=account.uri).pk
    services.token_keep(account_id=account_id, server=server, token=token)
    return done


def bluesky_connect(*, person: Person, typed: str) -> str:
    """Connect a Bluesky handle (its follows are public, no sign-in): verified when the handle
    is on a domain whose home page links back to the person's page, else unverified."""
    try:
        source = source_parse(f"bluesky:{typed.strip()}")
        with services.accounts_env() as env:
            identity = identity_find(env, source=source)
            try:
                via: VerifiedVia | None = account_verify(env, identity=identity, person_handle=person.handle)
                how = "verified: its domain links back to your page"
            except NotVerified as unproven:
                via, how = None, f"unverified ({unproven})"
    except AccountError as error:
        raise services.refused(error) from None
    services.account_connect(person=person, identity=identity, verified_via=via)
    return f"Connected Bluesky {identity.handle}, {how}. Importing whom it follows…"
