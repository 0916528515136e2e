"""The site's searches on a two-node SolrCloud while one node dies: each answer during the
stop is the full result or the page saying search is unavailable, never a 500; once the
node is down, the replicas on the other node give every answer in full. The node dies by a
graceful stop (the session's one-JVM SolrCloud) and by a SIGKILL of its own JVM under a
search in flight, still listed live in ZooKeeper; killed, it restarts and rejoins."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from digest.demo.seed import SeedPlan, seed
from digest.search.documents import stream_documents
from lanyard_site import stores
from lanyard_site.events.models import Event
from tests.site.ops.test_degraded import site_stores
from tests.site.pages import alias  # noqa: F401  (the fixture: SQLite and PostgreSQL)
from tests.solr_nodes import node_dies

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "postgresql"]), pytest.mark.slow]

AWAY = "Search is unavailable right now"


def _seeded_and_indexed(alias, search_url):
    with site_stores(search={"url": search_url}):
        engine = stores.engine(alias)
        seed(engine, SeedPlan(people=30, events=12, subscribers=5, seed=3, today=timezone.localdate()))
        index = stores.search()
        index.solr.delete(q="*:*", commit=True)
        with engine.connect() as connection:
            index.upsert(list(stream_documents(connection)))
        yield


@pytest.fixture
def on_solrcloud(alias, solr_cloud):
    yield from _seeded_and_indexed(alias, solr_cloud.url)


@pytest.fixture
def on_solr_processes(alias, solr_processes):
    yield from _seeded_and_indexed(alias, solr_processes.url)


def search_urls():
    word = Event.objects.order_by("pk").first().name.split()[0]
    return [f"/search/?q={word}", f"/search/?q={word}&type=event", "/people/?q=a"]


def answers(client, urls):
    """URL → (status, page) for each search page."""
    return {url: (response.status_code, response.content.decode()) for url in urls
            for response in [client.get(url)]}


def test_site_search_while_a_solrcloud_node_dies(client, on_solrcloud, solr_cloud):
    urls = search_urls()
    before = answers(client, urls)
    assert all(status == 200 and AWAY not in page for status, page in before.values())
    assert re.search(r"\b[1-9]\d* results?\b", before[urls[0]][1])  # the data exercises something
    with node_dies(solr_cloud, 0) as stopping:
        during = []
        while stopping.is_alive():
            during.append(answers(client, urls))
        stopping.join()
        down = answers(client, urls)
    for seen in during:
        for url, (status, page) in seen.items():
            assert status == 200 or (status == 503 and AWAY in page), (url, status)
    assert {url: status for url, (status, _) in down.items()} == {url: 200 for url in urls}
    # The same results as with both nodes (the result lists: the pages' hit counts and titles).
    for url in urls:
        assert _results(down[url][1]) == _results(before[url][1]), url


def test_site_search_while_a_solrcloud_node_is_killed_and_rejoins(client, on_solr_processes, solr_processes):
    cloud = solr_processes
    urls = search_urls()
    before = answers(client, urls)
    assert all(status == 200 and AWAY not in page for status, page in before.values())
    assert re.search(r"\b[1-9]\d* results?\b", before[urls[0]][1])
    with cloud.killed_mid_request(0) as kill:  # node 0: the one the site's index asks first
        killed = answers(client, urls)
    assert kill.caught.is_set()  # a search was in flight to it
    assert kill.still_listed  # not deregistered: still routed to
    down = answers(client, urls)
    with ThreadPoolExecutor(1) as pool:
        restarting = pool.submit(cloud.restart, 0)
        during = []
        while not restarting.done():  # searching all the while it restarts and recovers
            during.append(answers(client, urls))
    restarting.result()
    after = answers(client, urls)
    for seen in [killed, down, *during]:
        for url, (status, page) in seen.items():
            assert status == 200 or (status == 503 and AWAY in page), (url, status)
    # The replicas on the live node gave full answers, under the kill and after it, and the
    # rejoined cluster gives the same.
    for seen in (killed, down, after):
        assert {url: status for url, (status, _) in seen.items()} == {url: 200 for url in urls}
        for url in urls:
            assert _results(seen[url][1]) == _results(before[url][1]), url


def _results(page: str) -> tuple[list[str], list[str]]:
    """The page's links (results, facets, pager) and its "N results" line."""
    return re.findall(r'href="([^"]+)"', page), re.findall(r"\d+ results?\b", page)
