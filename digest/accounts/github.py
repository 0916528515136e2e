"""GitHub's REST API: an account by login or numeric id, and whom it follows.

``GET /users/{login}`` gives the stable numeric ``id`` (logins can be renamed);
``GET /user/{id}`` finds the account again after a rename. The list is
``/users/{login}/following`` (public) or ``/user/following`` with the user's token, in
Link-header pages of 100 (``per_page=100``). The first page is asked for with the last
ETag: GitHub answers 304 (free of the rate limit) when it is unchanged, and since a new
follow lands on the last page, the list counts as unchanged only when the profile's
``following`` count is unchanged too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from digest.accounts.api import ApiStatus, JsonApi
from digest.accounts.errors import AccountNotFound, BadAnswer
from digest.accounts.paging import field_ids, link_pages
from digest.accounts.values import Identity, Page, SourceRef
from digest.vocabulary import Provider

PAGE_SIZE = 100


class GitHub:
    provider = Provider.GITHUB

    def __init__(self, api: JsonApi, base_url: str):
        self.api, self.base = api, base_url.rstrip("/")

    def identity(self, ref: SourceRef, *, token: str = "") -> Identity:
        return self._user(f"{self.base}/users/{quote(ref.name)}", f"github:{ref.name}", token)

    def identity_again(self, *, external_id: str, handle: str, profile_url: str, token: str = "") -> Identity:
        """The linked account by its numeric id (``GET /user/{id}``), whatever its login is now."""
        return self._user(f"{self.base}/user/{quote(external_id)}", f"github:{handle}", token)

    def following(self, identity: Identity, *, token: str = "", etag: str = "") -> Iterator[Page]:
        path = "/user/following" if token else f"/users/{quote(identity.api_id)}/following"
        first = f"{self.base}{path}?per_page={PAGE_SIZE}"
        return link_pages(self.api, first, token=token, etag=etag, ids_of=self._ids)

    def _user(self, url: str, label: str, token: str) -> Identity:
        try:
            data = self.api.get(url, token=token, what=label).data
        except ApiStatus as error:
            if error.status in (404, 410):
                raise AccountNotFound(f"GitHub has no account {label.partition(':')[2]!r}") from None
            raise
        return _identity(data, label)

    def _ids(self, data: Any, what: str) -> tuple[str, ...]:
        return field_ids(data, what, name=self.api.name, key=lambda item: item.get("id"))


def _identity(data: Any, label: str) -> Identity:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or not isinstance(data.get("login"), str):
        raise BadAnswer(f"GitHub ({label}) did not send an account")
    count = data.get("following")
    blog = data.get("blog")
    return Identity(
        provider=Provider.GITHUB, external_id=str(data["id"]), handle=data["login"],
        profile_url=str(data.get("html_url") or f"https://github.com/{data['login']}")[:500],
        following_count=count if isinstance(count, int) else None, api_id=data["login"],
        links=(blog,) if isinstance(blog, str) and blog else (),
    )
