"""`lanyard follows import|refresh` and `lanyard accounts link`: people's accounts elsewhere and their follow lists.

Every failure (a bad SOURCE, an unknown account, a server that is down or answers
garbage, an account linked to someone else) is one line and a non-zero exit, and
changes nothing: exit 2 for a SOURCE that names no account, 3 when the provider did
not answer usefully, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from digest.accounts.env import AccountsEnv
    from digest.accounts.values import ImportResult

SOURCE_HELP = "github:LOGIN, bluesky:HANDLE_OR_DID, mastodon:@user@server or a Mastodon profile URL"


class AccountFailure(click.ClickException):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance


@contextmanager
def _accounts_env(app) -> Iterator[AccountsEnv]:
    """The services' env on this command's stores; an AccountError becomes one line."""
    from digest.accounts.env import AccountsEnv
    from digest.accounts.errors import AccountError
    from digest.http import HttpClient, http_config

    with HttpClient(http_config(app.settings)) as http:
        try:
            yield AccountsEnv.from_settings(app.settings, engine=app.engine, http=http, graph=app.graph)
        except AccountError as error:
            raise AccountFailure(str(error), error.exit_code) from None


def _person_id(app, handle: str) -> int:
    from sqlalchemy import select

    from digest.stores import db

    with app.engine.connect() as connection:
        found = connection.execute(select(db.person.c.id).where(db.person.c.handle == handle.lstrip("@"))).scalar()
    if found is None:
        raise click.BadParameter(f"no person has the handle {handle!r}", param_hint="--person")
    return found


def _source(text: str):
    from digest.accounts.errors import BadSource
    from digest.accounts.sources import source_parse

    try:
        return source_parse(text)
    except BadSource as error:
        raise AccountFailure(str(error), error.exit_code) from None


def _counts(result: ImportResult) -> str:
    if result.unchanged:
        return "unchanged since the last fetch (304)"
    cap = " (capped: the list is longer than follows_cap)" if result.capped else ""
    return (f"fetched {result.fetched}{cap}, matched {result.matched}, changed {result.changed} "
            f"(+{result.added} -{result.removed})")


@click.group()
def follows():
    """Follow lists imported from GitHub, Mastodon and Bluesky."""


@follows.command(name="import")
@click.option("--person", "handle", required=True, help="The lanyard person whose account it is (their handle).")
@click.argument("source")
@click.pass_obj
def import_(app, handle, source):
    """Fetch SOURCE's follow list and make its lanyard people the person's follows.

    SOURCE: github:LOGIN, bluesky:HANDLE_OR_DID, mastodon:@user@server or a Mastodon
    profile URL. An account not yet linked is linked to the person (unverified).
    """
    from digest.accounts.imports import follows_import_source

    ref = _source(source)
    person_id = _person_id(app, handle)
    with _accounts_env(app) as env:
        result = follows_import_source(env, person_id=person_id, source=ref, now=dt.datetime.now(dt.UTC),
                                       added_by="cli")
    click.echo(f"{ref.provider}:{result.handle}: {_counts(result)}")


@follows.command()
@click.option("--due", is_flag=True, help="Only lists older than the live setting follows_refresh_hours.")
@click.pass_obj
def refresh(app, due):
    """Fetch the follow lists of linked accounts again; exit 1 if any failed (those keep their follows)."""
    from sqlalchemy import select

    from digest.accounts.errors import AccountError
    from digest.accounts.imports import follows_import, follows_refresh_due
    from digest.stores import db

    now = dt.datetime.now(dt.UTC)
    failed = 0
    with _accounts_env(app) as env:
        if due:
            ids = follows_refresh_due(env, now=now)
        else:
            with app.engine.connect() as connection:
                ids = list(connection.execute(select(db.account.c.id).order_by(db.account.c.id)).scalars())
        for account_id in ids:
            try:
                result = follows_import(env, account_id=account_id, now=now)
            except AccountError as error:
                failed += 1
                click.echo(f"account {account_id}: failed, nothing changed: {error}", err=True)
                continue
            click.echo(f"account {account_id} ({result.handle}): {_counts(result)}")
    click.echo(f"refreshed {len(ids) - failed} of {len(ids)} accounts")
    if failed:
        raise SystemExit(1)


@click.group()
def accounts():
    """People's accounts on GitHub, Mastodon and Bluesky."""


@accounts.command()
@click.option("--person", "handle", required=True, help="The lanyard person whose account it is (their handle).")
@click.option("--verified", is_flag=True,
              help='Require proof: a rel="me" link back to the person page (or, on Bluesky, a handle on their domain).')
@click.argument("source")
@click.pass_obj
def link(app, handle, verified, source):
    """Link the account SOURCE names to a person (an organiser's tool); unverified unless --verified proves it."""
    from digest.accounts.linking import account_link, identity_find
    from digest.accounts.verify import account_verify

    ref = _source(source)
    person_id = _person_id(app, handle)
    with _accounts_env(app) as env:
        identity = identity_find(env, source=ref)
        via = account_verify(env, identity=identity, person_handle=handle.lstrip("@")) if verified else None
        linked = account_link(env, person_id=person_id, identity=identity, verified_via=via, added_by="cli",
                              now=dt.datetime.now(dt.UTC))
    state = f"verified ({via})" if via else "unverified"
    what = "linked" if linked.created else "already linked; refreshed"
    click.echo(f"{ref.provider}:{identity.handle} ({identity.external_id}) {what} to @{handle.lstrip('@')}, "
               f"{state}; {linked.follows_added} follows made from stored lists")


COMMANDS = [follows, accounts]
