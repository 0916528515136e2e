"""The Lua scripts ship as package files and are read once."""

from importlib import resources

import pytest

from digest.stores.scripts import lua

NAMES = sorted(
    p.name[:-4] for p in resources.files("digest.stores").joinpath("lua").iterdir() if p.name.endswith(".lua")
)


def test_there_are_scripts():
    assert "graph_apply" in NAMES and len(NAMES) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_each_script_compiles_in_redis(any_redis, name):
    # SCRIPT LOAD compiles without running: a syntax error fails here, not mid-run.
    digest = any_redis.script_load(lua(name))
    assert any_redis.script_exists(digest) == [True]


def test_a_script_is_read_once():
    assert lua("graph_apply") is lua("graph_apply")


def test_an_unknown_script_is_an_error():
    with pytest.raises(FileNotFoundError):
        lua("no_such_script")
