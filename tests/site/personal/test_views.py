"""The calendar page (personal/views.py): the followed people's events, and the sign-in it needs."""


import pytest

from lanyard_site.events.models import Follow
from tests.site.pages import alias, data, event, go, person, signed_in, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_calendar_shows_followed_peoples_events_only(client, data):
    me = signed_in(client, person("me"))
    carol = person("carol")
    Follow.objects.create(follower=me, followee=data["ada"])
    go(carol, data["later"], "speaking")  # not followed
    go(data["ada"], data["later"], "tracking")  # not going
    soon = event("soon", 2)
    go(data["ada"], soon)
    go(data["bob"], soon)  # going, but not followed
    page = text(client.get("/calendar/"))
    assert page.index("/events/soon/") < page.index("/events/pycon/")  # soonest first
    assert "Ada</a> (speaking)" in page and "/people/bob/" not in page
    assert "/events/later/" not in page and "/events/past/" not in page and "/people/carol/" not in page


def test_calendar_groups_followed_people_by_event(client, data):
    me = signed_in(client, person("me"))
    Follow.objects.create(follower=me, followee=data["ada"])
    Follow.objects.create(follower=me, followee=data["bob"])
    page = text(client.get("/calendar/"))
    assert page.count('href="/events/pycon/"') == 1 and "/people/ada/" in page and "/people/bob/" in page


def test_calendar_and_subscriptions_need_a_sign_in(client, alias):
    for url in ["/calendar/", "/subscriptions/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"
    assert "Sign in" in text(client.get("/accounts/login/"))
