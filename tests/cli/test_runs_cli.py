"""`lanyard runs …` (lanyard_cli/commands/runs.py): start, list, and the operator's controls
from the one command table, on real databases and a real Redis broker (no worker: the
chunk messages wait in the broker; the run's rows say what each command did)."""

import datetime as dt

import pytest
from click.testing import CliRunner

from digest.runs.state import run_get
from lanyard_cli.commands.runs import CONTROLS, runs
from lanyard_cli.main import cli
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.factories import make_person, make_subscription

DAY = "2026-12-01"


@pytest.fixture
def env(monkeypatch, database_url, redis_client, tmp_path):
    values = {
        "LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": REDIS_URL, "LANYARD_REDIS_PREFIX": "runs-cli:",
        "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_MAIL_URL": f"maildir://{tmp_path / 'outbox'}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def subscribers(env, engine):
    with engine.begin() as c:
        for name in ("ada", "cy"):
            make_subscription(c, make_person(c, handle=name), email=f"{name}@example.com")


def lanyard(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def started(*args) -> int:
    result = lanyard("runs", "start", "--date", DAY, *args)
    assert result.exit_code == 0, result.output
    assert "watch it with `lanyard runs show" in result.output
    return int(result.output.split()[1])


def test_the_controls_come_from_one_table():
    assert [c.name for c in CONTROLS] == ["pause", "resume", "cancel", "retry-failed"]
    for control in CONTROLS:
        assert runs.commands[control.name].help == control.help


def test_a_run_started_paused_resumed_and_cancelled_from_the_command_line(subscribers, engine):
    run_id = started()
    assert run_get(engine, run_id=run_id)["planned"] == 2
    listed = lanyard("runs", "list")
    assert f"{run_id:>5}  daily   {DAY}  running" in listed.output

    assert lanyard("runs", "pause", str(run_id)).output == (
        f"run {run_id} paused; `lanyard runs resume {run_id}` goes on\n"
    )
    assert run_get(engine, run_id=run_id)["status"] == "paused"
    again = lanyard("runs", "pause", str(run_id))
    assert again.exit_code == 1
    assert again.output.strip().splitlines() == [f"Error: run {run_id} is paused; only a planned or running run can "
                                                 "become paused"]

    assert lanyard("runs", "resume", str(run_id)).output == f"run {run_id} resumed\n"
    assert lanyard("runs", "retry-failed", str(run_id)).output == f"run {run_id} has no failed deliveries\n"
    assert lanyard("runs", "cancel", str(run_id)).output == f"run {run_id} cancelled\n"
    assert run_get(engine, run_id=run_id)["status"] == "cancelled"
    refused = lanyard("runs", "retry-failed", str(run_id))
    assert refused.exit_code == 1 and "cancelled; start a new run instead" in refused.output


def test_refusals_are_one_line(subscribers, engine):
    dry = started("--dry-run")
    for args, says in (
        (("runs", "retry-failed", str(dry)), f"run {dry} is a dry run; it sent nothing to retry"),
        (("runs", "resume", "999"), "no run 999; `lanyard runs list` shows the runs"),
        (("runs", "cancel", "999"), "no run 999"),
        (("runs", "show", "999"), "no run 999"),
    ):
        result = lanyard(*args)
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1 and says in result.output
    assert run_get(engine, run_id=dry)["status"] == "running"  # nothing refused changed it
    assert dt.date.fromisoformat(DAY) == run_get(engine, run_id=dry)["digest_date"]
