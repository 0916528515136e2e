"""The run admin's actions (site/lanyard_site/mailing/admin.py) call the run's controls in
digest/runs/controls.py: a pause that can happen happens; one that cannot says why, one line,
and changes nothing."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages

from lanyard_site.mailing.models import DigestRun

# The controls write through the core's SQLAlchemy engine: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def act(admin, action, *runs):
    return admin.post("/admin/mailing/digestrun/", {"action": action, "_selected_action": [r.pk for r in runs]},
                      follow=True)


def test_pausing_runs_from_the_admin(admin):
    running = DigestRun.objects.create(digest_date=dt.date(2026, 12, 1), status="running")
    cancelled = DigestRun.objects.create(digest_date=dt.date(2026, 12, 1), status="cancelled")
    response = act(admin, "run_pause", running, cancelled)
    assert response.status_code == 200
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"run {cancelled.pk} is cancelled; only a planned or running run can become paused" in said
    assert f"Pause: run {running.pk}" in said
    running.refresh_from_db()
    cancelled.refresh_from_db()
    assert (running.status, cancelled.status) == ("paused", "cancelled")
