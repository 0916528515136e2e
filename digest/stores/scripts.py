"""The Lua scripts lanyard runs inside Redis, each a ``.lua`` file under ``lua/``.

Read from the package once per process; callers register them once per client
(``client.register_script``), so each call sends only the script's hash.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def lua(name: str) -> str:
    """The source of ``lua/<name>.lua``."""
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
