"""The global send rate (scheduler/throttle.py): one token bucket in Redis for every worker."""

from digest.stores.keys import RedisKeys
from scheduler.throttle import TAKE_TOKEN, SendThrottle


def test_the_token_bucket_limits_across_clients(redis_client):
    keys = RedisKeys("thr:")
    take = redis_client.register_script(TAKE_TOKEN)
    waits = [int(take(keys=[keys.send_rate_bucket], args=[1, 2])) for _ in range(3)]
    assert waits[:2] == [0, 0]  # a full bucket: its burst at once
    assert 0 < waits[2] <= 1000  # then one a second
    # A second client (another worker) shares the same bucket.
    from tests.conftest import REDIS_URL

    other = type(redis_client).from_url(REDIS_URL)
    assert int(other.register_script(TAKE_TOKEN)(keys=[keys.send_rate_bucket], args=[1, 2])) > 0
    other.close()


def test_the_throttle_reads_the_rate_as_it_changes(redis_client):
    rates = iter([0, 1000])
    throttle = SendThrottle(redis_client, RedisKeys("thr2:"), lambda: next(rates), refresh=0)
    throttle()  # unlimited: no bucket at all
    assert not redis_client.exists(RedisKeys("thr2:").send_rate_bucket)
    throttle()  # 1000/s: a token from a fresh bucket
    assert redis_client.exists(RedisKeys("thr2:").send_rate_bucket)
