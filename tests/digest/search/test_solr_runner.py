"""What starting the Solr runner refuses before any JVM starts (the runner itself runs in
the Solr tests: tests/conftest.py ``solr_cloud``, ``solr_processes``)."""

from __future__ import annotations

import pytest

from digest.search.solr_runner import command, start_solr


@pytest.mark.parametrize(("mode", "zk", "message"), [
    ("node", "", "a node, and only a node, takes the ZooKeeper address"),
    ("zk", "127.0.0.1:2181/solr", "a node, and only a node, takes the ZooKeeper address"),
    ("cloud", "127.0.0.1:2181/solr", "a node, and only a node, takes the ZooKeeper address"),
    ("cluster", "", "mode must be one of standalone, cloud, zk, node, not 'cluster'"),
])
def test_start_refuses_a_wrong_mode_or_zookeeper(tmp_path, mode, zk, message):
    with pytest.raises(ValueError, match=message):
        start_solr(mode, tmp_path, zk=zk)
    assert not any(tmp_path.iterdir())  # refused before building or starting anything


def test_a_node_command_names_its_zookeeper_and_port(tmp_path):
    argv = command("node", tmp_path, port=8984, zk="127.0.0.1:2181/solr")
    assert argv[argv.index("lanyard.solr.Runner") + 1] == "node"
    assert argv[argv.index("--zk") + 1] == "127.0.0.1:2181/solr"
    assert argv[argv.index("--port") + 1] == "8984"
    assert "--zk" not in command("standalone", tmp_path)
