"""The endpoint and a running digest batch together: a one-click unsubscribe made over
HTTP while the batch sends is honoured before the next send, and the List-Unsubscribe
URL of a real digest email works against the endpoint."""

from __future__ import annotations

import datetime as dt
import re
import threading

import httpx
from sqlalchemy import select

from digest.delivery.deliver import DeliveryLimits
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.links import unsubscribe_link
from digest.nightly.pipeline import Pipeline
from digest.runs.planning import RunRequest, run_plan
from digest.stores import db
from digest.tokens import SubscriptionRef, TokenSigner
from tests.factories import make_attendance, make_event, make_follow, make_person, make_subscription
from unsubscribe_web.app import create_app
from unsubscribe_web.devserver import make_dev_server

from .conftest import wait_applied

DAY = dt.date(2026, 12, 1)
PREFIX = "lanyard:"


def test_a_one_click_unsubscribe_mid_run_stops_the_next_email(
    make_settings, database_url, engine, redis_client, smtp_server
):
    # The endpoint's public URL is in every email, so its port is chosen first.
    server = make_dev_server(None, "127.0.0.1", 0, quiet=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(database_url=database_url, mail_url=smtp_server.url, unsubscribe_url=url)
    app = create_app(settings, engine=engine, redis=redis_client)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    with engine.begin() as c:
        speaker = make_person(c, name="Bob", handle="bob")
        conf = make_event(c, DAY + dt.timedelta(days=3), name="PyCon Lisbon", slug="pycon-lisbon")
        make_attendance(c, speaker, conf, "speaking")
        subs = {}
        for name in ("ada", "cy", "hal"):
            person = make_person(c, name=name.capitalize(), handle=name)
            make_follow(c, person, speaker)
            subs[name] = make_subscription(c, person, email=f"{name}@example.com")
    rebuild(Graph(redis_client, PREFIX), engine)
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    assert plan.planned == 3

    # While the first email goes out, hal clicks "unsubscribe" in their mail client.
    hal_link = unsubscribe_link(settings, TokenSigner(settings.secret_keys), SubscriptionRef(subs["hal"], "daily"))
    clicks = []

    def throttle():
        if not clicks:
            clicks.append(httpx.post(hal_link, data={"List-Unsubscribe": "One-Click"}, timeout=10))

    pipeline = Pipeline(settings, engine=engine, redis=redis_client,
                        limits=DeliveryLimits(throttle=throttle, suppression_max_age=0))
    try:
        result = pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    finally:
        pipeline.close()

    try:
        assert [response.status_code for response in clicks] == [200]
        assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == ["ada@example.com", "cy@example.com"]
        assert (result.sent, result.skipped) == (2, 1)
        with engine.connect() as c:
            d = db.delivery.c
            reason = c.execute(select(d.last_error).where(d.subscription_id == subs["hal"])).scalar_one()
        assert reason == "unsubscribed during the run"

        # ada's email carries a List-Unsubscribe URL that works against the endpoint.
        email = next(m.parsed() for m in smtp_server.messages if "ada@example.com" in m.rcpt_tos)
        assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = re.search(r"<(https?://[^>]+)>", email["List-Unsubscribe"]).group(1)
        assert link.startswith(f"{url}/u/")
        assert httpx.get(link).status_code == 200
        assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        wait_applied(redis_client, PREFIX)
        with engine.connect() as c:
            s = db.subscription.c
            statuses = dict(c.execute(select(s.id, s.status)).all())
        assert statuses == {subs["ada"]: "unsubscribed", subs["cy"]: "active", subs["hal"]: "unsubscribed"}
    finally:
        server.shutdown()
        server.server_close()
        app.close()
