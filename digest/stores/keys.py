"""Every Redis key name lanyard uses, in one place.

All keys start with the configured prefix (``LANYARD_REDIS_PREFIX``, default
``lanyard:``), so one Redis server can hold several lanyards (and the test suite).
Other modules never format a key name themselves; they ask :class:`RedisKeys`.
"""

from __future__ import annotations


class GraphSuffix:
    """The part of a graph key after its generation's base (``<prefix>g<gen>:``).

    Graph edits name their keys by suffix, so one edit applies to every generation
    (the graph's apply script puts each generation's base in front).
    """

    @staticmethod
    def follows(person_id: int | str) -> str:
        """Set of the people ``person_id`` follows."""
        return f"follows:{person_id}"

    @staticmethod
    def attendees(event_id: int | str) -> str:
        """Set of the people attending or speaking at ``event_id``."""
        return f"attendees:{event_id}"

    @staticmethod
    def speakers(event_id: int | str) -> str:
        """Set of the people speaking at ``event_id``."""
        return f"speakers:{event_id}"

    @staticmethod
    def events(person_id: int | str) -> str:
        """Sorted set of the events a person attends or speaks at, scored by start day."""
        return f"events:{person_id}"

    BUILT = "built"  # written last by a rebuild: the generation is whole


def graph_base_parts(prefix: str) -> tuple[str, str]:
    """What goes before and after the generation number in a generation's key base."""
    return f"{prefix}g", ":"


class GraphKeys:
    """Keys of one generation of the social graph (see ``digest/graph/store.py``)."""

    def __init__(self, prefix: str, generation: int | str):
        self.prefix = prefix
        self.generation = int(generation)
        before, after = graph_base_parts(prefix)
        self.base = f"{before}{self.generation}{after}"

    # ``base + GraphSuffix.<name>(id)``, written out: the digest formats hundreds of
    # thousands of these per run, and the extra call doubles their cost.
    def follows(self, person_id: int | str) -> str:
        return f"{self.base}follows:{person_id}"

    def attendees(self, event_id: int | str) -> str:
        return f"{self.base}attendees:{event_id}"

    def speakers(self, event_id: int | str) -> str:
        return f"{self.base}speakers:{event_id}"

    def events(self, person_id: int | str) -> str:
        return f"{self.base}events:{person_id}"

    @property
    def built(self) -> str:
        """Written last by a rebuild: the generation is whole (a pointer to a generation
        without it names nothing, e.g. after an eviction or a restore of old data)."""
        return f"{self.base}{GraphSuffix.BUILT}"

    def pattern(self) -> str:
        return f"{self.base}*"


class RedisKeys:
    def __init__(self, prefix: str = "lanyard:"):
        self.prefix = prefix

    # The graph: a pointer to the live generation, and one to a generation being built.
    @property
    def graph_live(self) -> str:
        return f"{self.prefix}graph:gen"

    @property
    def graph_building(self) -> str:
        return f"{self.prefix}graph:building"

    @property
    def graph_counter(self) -> str:
        return f"{self.prefix}graph:gen_counter"

    # What graph edits changed, for readers that keep graph sets between requests
    # (digest/graph/changes.py): a sorted set of "<seq>|<suffix>,<suffix>…" scored by
    # seq, and the counter that numbers them.
    @property
    def graph_changes(self) -> str:
        return f"{self.prefix}graph:changes"

    @property
    def graph_changes_seq(self) -> str:
        return f"{self.prefix}graph:changes_seq"

    @property
    def graph_heal_lock(self) -> str:
        """Held by the one worker rebuilding a missing graph while the others wait."""
        return f"{self.prefix}graph:heal_lock"

    def graph(self, generation: int | str) -> GraphKeys:
        return GraphKeys(self.prefix, generation)

    # Unsubscribes: subscription ids the running batch must not mail (checked before
    # each send), and the changes the endpoint accepted, queued for the database.
    @property
    def unsubscribe_suppressed(self) -> str:
        return f"{self.prefix}unsub:suppressed"

    @property
    def unsubscribe_pending(self) -> str:
        return f"{self.prefix}unsub:pending"

    # The replay moves pending entries a batch at a time into this list and removes them
    # only once the database has them, so a replay that dies midway loses nothing.
    @property
    def unsubscribe_processing(self) -> str:
        return f"{self.prefix}unsub:processing"

    @property
    def unsubscribe_replay_lock(self) -> str:
        return f"{self.prefix}unsub:replay_lock"

    # What the digests of a subscription have mentioned: event ids scored by start day,
    # so "mentioned before, starting soon" is a range and past events trim by score.
    def mentioned(self, subscription_id: int) -> str:
        return f"{self.prefix}mentioned:{subscription_id}"

    def mentioned_pattern(self) -> str:
        return f"{self.prefix}mentioned:*"

    # The scheduler's global send rate: one token bucket shared by every worker (a hash
    # of tokens and the time they were counted; see scheduler/throttle.py).
    @property
    def send_rate_bucket(self) -> str:
        return f"{self.prefix}scheduler:send_bucket"

    # Imported follows (scheduler/follows_tasks.py): an account whose import is queued or
    # running (the time it was queued; expires by itself so no page waits forever), and
    # each provider's request budget, one token bucket shared by every worker.
    def follows_importing(self, account_id: int) -> str:
        return f"{self.prefix}follows:importing:{account_id}"

    def follows_budget(self, provider: str) -> str:
        return f"{self.prefix}follows:budget:{provider}"

    # Celery's broker keys (queues, unacked messages) when the broker is this Redis:
    # kombu puts this in front of every key it writes.
    @property
    def broker_prefix(self) -> str:
        return f"{self.prefix}celery:"

    # The site's shared cache (Django's RedisCache, template fragments): it adds
    # ":<version>:<key>" after this.
    @property
    def site_cache_prefix(self) -> str:
        return f"{self.prefix}site:cache"

    # Search sync (digest/search/sync.py): document ids ("event:12") written since they
    # were last indexed; a marker while `lanyard search rebuild` runs, and the ids indexed
    # meanwhile into the generation being replaced, queued again after the swap; the
    # lock that keeps one indexer at a time.
    @property
    def search_pending(self) -> str:
        return f"{self.prefix}search:pending"

    @property
    def search_rebuilding(self) -> str:
        return f"{self.prefix}search:rebuilding"

    @property
    def search_dirty(self) -> str:
        return f"{self.prefix}search:dirty"

    @property
    def search_heal_lock(self) -> str:
        """Held by the one worker rebuilding a missing search index while the others wait."""
        return f"{self.prefix}search:heal_lock"

    @property
    def search_indexer_lock(self) -> str:
        return f"{self.prefix}search:indexer"

    # The friends planner's settled figures for one search engine (digest/search/
    # cost_store.py): a hash, size class -> JSON (seconds per subscriber per strategy, the
    # group probed, when), so a new worker starts settled. ``engine``: the engine's kind
    # and a digest of its address (no URL, which may hold credentials, in a key name).
    def friends_costs(self, engine: str) -> str:
        return f"{self.prefix}friends:costs:{engine}"

    # Operations (digest/ops/): the read-only switch (a hash: on, message, since, by), the
    # feature flags (a hash: flag name -> condition), a copy of the live settings (a hash:
    # name -> JSON value, plus a marker once loaded from the database, their owner).
    @property
    def ops_read_only(self) -> str:
        return f"{self.prefix}ops:read_only"

    @property
    def ops_flags(self) -> str:
        return f"{self.prefix}ops:flags"

    @property
    def ops_settings(self) -> str:
        return f"{self.prefix}ops:settings"

    # The API (site/lanyard_site/api/): requests counted per client (a token's id or an
    # address) in fixed windows, each key expiring with its window; and per URL and viewer
    # the ETag last served with the time it was first served (its Last-Modified).
    def api_rate(self, client: str, window: int) -> str:
        return f"{self.prefix}api:rate:{client}:{window}"

    def api_seen(self, resource: str) -> str:
        return f"{self.prefix}api:seen:{resource}"

    # Profiles of requests and tasks: JSON, kept five minutes; a chunk's latest profile id.
    def profile(self, profile_id: str) -> str:
        return f"{self.prefix}profile:{profile_id}"

    def chunk_profile(self, chunk_id: int) -> str:
        return f"{self.prefix}profile:chunk:{chunk_id}"
