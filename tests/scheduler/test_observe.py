"""Workers as operators see them: JSON logs, and chunk tasks profiled when sampled."""

from __future__ import annotations

import json

import redis
from sqlalchemy import select

from digest.ops.live import OpsSettingGroup, Registry
from digest.runs.planning import RunRequest, run_start
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.stores.profile import profile_load
from tests.conftest import REDIS_URL
from tests.scheduler.conftest import DAY, run_row, set_schedule, wait_until


def test_sampled_chunks_are_profiled_and_workers_log_json(engine, seeded, workers, enqueue, prefix):
    client = redis.Redis.from_url(REDIS_URL)
    Registry([OpsSettingGroup(client, prefix=prefix)]).set(
        engine, {"profile_task_sample_rate": "1"}, changed_by="t", via="cli"
    )
    set_schedule(engine, chunk_size=30)
    workers.env["LANYARD_LOG_FORMAT"] = "json"
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))  # 0: the schedule's
    wait_until(lambda: run_row(engine, run_id)["status"] == "finished", message="the run to finish")

    with engine.connect() as connection:
        chunk_ids = (
            connection.execute(select(db.digest_chunk.c.id).where(db.digest_chunk.c.run_id == run_id)).scalars().all()
        )
    assert len(chunk_ids) == 2
    for chunk_id in chunk_ids:
        profile_id = client.get(RedisKeys(prefix).chunk_profile(chunk_id))
        assert profile_id, f"chunk {chunk_id} has no profile"
        profile = profile_load(client, prefix=prefix, profile_id=profile_id.decode())
        assert profile["kind"] == "task" and "process_chunk" in profile["name"]
        assert profile["summary"]["sql"]["count"] > 0 and profile["summary"]["redis"]["count"] > 0
        assert 0 < client.ttl(RedisKeys(prefix).profile(profile_id.decode())) <= 300

    lines = [json.loads(line) for line in workers.log().splitlines() if line.startswith("{")]
    assert lines and all(line["service"] == "worker" for line in lines)
    assert any(line["logger"].startswith("celery") for line in lines)
