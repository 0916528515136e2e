"""README's "The API": every curl example runs as written against the live API (gunicorn,
a seeded catalogue), with curl and jq, and shows what the README says it shows."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.site.api.live import live_api

pytestmark = [pytest.mark.slow]


def examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## The API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def run(script: str, env: dict) -> str:
    result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result.stdout


def test_the_readme_api_examples_run(database_url, tmp_path, redis_client):
    public, personal = examples()
    assert public.count("curl ") >= 8 and personal.count("curl ") >= 4
    with live_api(database_url, tmp_path) as (base, token):
        env = {"PATH": "/usr/bin:/bin", "LANYARD": base, "TOKEN": token}
        shown = run(public, env).splitlines()
        assert "304" in shown and "404" in shown  # the conditional GET, the problem's status
        assert any(line.startswith('"') for line in shown)  # names of events
        mine = run(personal, env).splitlines()
        assert "true" in mine and mine.count("true") >= 2  # followed, then the unfollow changed something
