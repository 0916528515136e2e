"""Rebuild and swap on Solr, against the runner's servers: SolrCloud points its alias at a
new collection, a standalone Solr SWAPs in a new core, a plain collection is rebuilt in
place; a rebuild that fails leaves the old index answering."""

from __future__ import annotations

import pytest

from digest.search import SearchDocument, TextQuery
from digest.search.solr_admin import SolrAdmin
from digest.search.solr_index import SolrIndex
from tests.digest.search.conftest import solr_index

OLD = [SearchDocument(type="person", pk=i, title=f"Old Person {i}") for i in range(1, 6)]
NEW = [SearchDocument(type="person", pk=i, title=f"New Person {i}") for i in range(3, 9)]


def found(index, word):
    return {hit.id for hit in index.search(TextQuery(word, limit=50)).hits}


def collections(admin):
    return admin.get("/admin/collections", action="CLUSTERSTATUS")["cluster"]["collections"]


def test_cloud_rebuild_points_the_alias_at_a_new_collection(solr_cloud):
    index = solr_index(solr_cloud)
    admin = SolrAdmin(index.urls, timeout=30)
    index.upsert(OLD)
    old = admin.alias_target()
    assert index.rebuild(iter(NEW)) == len(NEW)
    new = admin.alias_target()
    assert new not in (None, old) and new.startswith("lanyard_")
    state = collections(admin)
    assert old not in state
    # The new collection is shaped like the old: 2 shards, each on both nodes.
    shards = state[new]["shards"]
    assert len(shards) == 2
    for shard in shards.values():
        assert len({replica["node_name"] for replica in shard["replicas"].values()}) == 2
    assert found(index, "new") == {f"person:{i}" for i in range(3, 9)}
    assert found(index, "old") == set()


def test_standalone_rebuild_swaps_in_a_new_core(solr_standalone):
    index = solr_index(solr_standalone)
    admin = SolrAdmin(index.urls, timeout=30)
    index.upsert(OLD)
    before = admin.get("/admin/cores", action="STATUS", core="lanyard")["status"]["lanyard"]["instanceDir"]
    assert index.rebuild(iter(NEW)) == len(NEW)
    cores = admin.get("/admin/cores", action="STATUS")["status"]
    assert set(cores) == {"lanyard"}  # the old index was unloaded under the new core's name
    assert cores["lanyard"]["instanceDir"] != before
    assert found(index, "new") == {f"person:{i}" for i in range(3, 9)}
    assert found(index, "old") == set()
    index.upsert([SearchDocument(type="person", pk=99, title="Written After")])  # writes reach the new core
    assert found(index, "written") == {"person:99"}


def test_a_collection_named_directly_is_rebuilt_in_place(solr_cloud):
    admin = SolrAdmin(solr_index(solr_cloud).urls, timeout=30)
    collection = admin.alias_target()
    direct = SolrIndex(admin.urls_of(collection))
    direct.upsert(OLD)
    assert direct.rebuild(iter(NEW)) == len(NEW)
    assert admin.alias_target() == collection  # nothing swapped
    assert found(direct, "new") == {f"person:{i}" for i in range(3, 9)}
    assert found(direct, "old") == set()


@pytest.mark.parametrize("runner", ["solr_standalone", "solr_cloud"])
def test_a_failed_rebuild_leaves_the_old_index(request, runner):
    index = solr_index(request.getfixturevalue(runner))
    admin = SolrAdmin(index.urls, timeout=30)
    index.upsert(OLD)
    index.solr.commit()

    def broken():
        yield NEW[0]
        raise RuntimeError("the database went away mid-rebuild")

    before = collections(admin) if admin.cloud() else admin.get("/admin/cores", action="STATUS")["status"]
    with pytest.raises(RuntimeError, match="went away"):
        index.rebuild(broken())
    after = collections(admin) if admin.cloud() else admin.get("/admin/cores", action="STATUS")["status"]
    assert set(after) == set(before)  # the half-built collection or core is gone
    assert found(index, "old") == {f"person:{i}" for i in range(1, 6)}
