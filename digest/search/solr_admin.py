"""Solr's admin APIs for a rebuild that swaps a whole new index in atomically.

SolrCloud: ``LANYARD_SEARCH_URL`` names an alias (``…/solr/lanyard``); a rebuild creates a
collection ``lanyard_<generation>`` shaped like the one the alias points at (its
configset, shards and replicas), fills and commits it, points the alias at it
(CREATEALIAS is one atomic write to ZooKeeper) and deletes the old collection.
A standalone Solr: a new core ``lanyard_<generation>`` from the configset named like the
core (``configsets/lanyard``), filled, then CoreAdmin SWAP (atomic) and UNLOAD of the
old one. A SolrCloud URL naming a collection rather than an alias has nothing to swap:
:class:`SolrIndex` then rebuilds in place (generations, README "Search on Solr").
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from digest.search.index import SearchError


@dataclass(frozen=True)
class Shape:
    config: str
    shards: int
    replicas: int


class SolrAdmin:
    """Admin requests to whichever of the nodes answers; every failure is a SearchError."""

    def __init__(self, urls: tuple[str, ...], *, timeout: float):
        # …/solr/<name> on each node: the Solr roots and the one name (core, alias or collection).
        self.roots = tuple(url.rsplit("/", 1)[0] for url in urls)
        self.name = urls[0].rsplit("/", 1)[1]
        self.timeout = timeout
        self.session = requests.Session()

    def urls_of(self, name: str) -> str:
        """``name`` (a core or collection) on every node, as SolrIndex takes it."""
        return ",".join(f"{root}/{name}" for root in self.roots)

    def get(self, path: str, timeout: float | None = None, **params: str | int | bool) -> dict:
        failures = []
        for root in self.roots:
            try:
                response = self.session.get(f"{root}{path}", params={**params, "wt": "json"},
                                            timeout=timeout or self.timeout)
                body = response.json()
            except (requests.RequestException, ValueError) as error:
                failures.append(f"{root}: {type(error).__name__}")
                continue
            if response.status_code >= 400 or body.get("error"):
                message = (body.get("error") or {}).get("msg") or f"HTTP {response.status_code}"
                raise SearchError(f"Solr at {root} refused {path} {params.get('action', '')}: {message}")
            return body
        raise SearchError(f"no Solr node answered {path}: {'; '.join(failures)}")

    def cloud(self) -> bool:
        return self.get("/admin/info/system").get("mode") == "solrcloud"

    def alias_target(self) -> str | None:
        """The collection the alias ``name`` points at, None when ``name`` is no alias."""
        target = self.get("/admin/collections", action="LISTALIASES").get("aliases", {}).get(self.name)
        return target.split(",")[0] if target else None

    def shape(self, collection: str) -> Shape:
        status = self.get("/admin/collections", action="CLUSTERSTATUS", collection=collection)
        state = status["cluster"]["collections"][collection]
        shards = state["shards"]
        replicas = max(len(shard["replicas"]) for shard in shards.values())
        return Shape(config=state["configName"], shards=len(shards), replicas=replicas)

    def create_collection(self, name: str, shape: Shape, *, timeout: float) -> None:
        self.get("/admin/collections", timeout=timeout, action="CREATE", name=name,
                 **{"collection.configName": shape.config}, numShards=shape.shards,
                 replicationFactor=shape.replicas, waitForFinalState="true")

    def point_alias(self, collection: str) -> None:
        self.get("/admin/collections", action="CREATEALIAS", name=self.name, collections=collection)

    def delete_collection(self, name: str, *, timeout: float) -> None:
        self.get("/admin/collections", timeout=timeout, action="DELETE", name=name)

    def create_core(self, name: str, *, timeout: float) -> None:
        self.get("/admin/cores", timeout=timeout, action="CREATE", name=name, instanceDir=name, configSet=self.name)

    def swap_cores(self, other: str) -> None:
        self.get("/admin/cores", action="SWAP", core=self.name, other=other)

    def unload_core(self, name: str) -> None:
        self.get("/admin/cores", action="UNLOAD", core=name, deleteInstanceDir="true")

    def close(self) -> None:
        self.session.close()
