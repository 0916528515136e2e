"""`lanyard solr serve`: Apache Solr on this machine, started from Solr's Maven artifacts
(search-solr/), for trying lanyard on Solr without installing it. Production runs a real
Solr install (README: "Search on Solr")."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import click


@click.group()
def solr():
    """Solr from Maven, to try lanyard on Solr here (needs Java 17 and Maven)."""


@solr.command()
@click.option("--cloud", is_flag=True, help="A SolrCloud of two nodes (2 shards x 2 replicas) instead of one core.")
@click.option("--port", default=8983, show_default=True, type=click.IntRange(0, 65534),
              help="The (first) node's port; the second SolrCloud node takes the next one. 0: any free port.")
@click.pass_obj
def serve(app, cloud, port):
    """Run Solr with lanyard's configset until Ctrl-C; prints the LANYARD_SEARCH_URL to use.
    Its data starts empty each time (`lanyard search rebuild` fills it)."""
    from digest.search.solr_runner import RunnerError, requirements_missing, start_solr

    problem = requirements_missing()
    if problem:
        raise click.ClickException(f"{problem}; install Java 17 and Maven, or use a real Solr (README: Search on Solr)")
    mode = "cloud" if cloud else "standalone"
    workdir = Path(app.settings.data_dir) / f"solr-{mode}"
    shutil.rmtree(workdir, ignore_errors=True)
    click.echo(f"starting Solr ({mode}) from Maven's jars (the first time, Maven builds the runner)…", err=True)
    try:
        # With its control channel, Solr also stops if this process dies without cleaning up.
        runner = start_solr(mode, workdir, port=port)
    except RunnerError as error:
        raise click.ClickException(str(error)) from error
    with runner:
        for url in runner.urls:
            click.echo(f"Solr {mode}: {url}")
        click.echo(f"LANYARD_SEARCH_URL={runner.url}")
        click.echo("then: lanyard search rebuild; Ctrl-C stops Solr", err=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            runner.process.wait()
        except KeyboardInterrupt:
            click.echo("stopping Solr", err=True)
    if runner.process.returncode not in (0, 130, 143, -2, -15):
        raise click.ClickException(f"Solr exited with status {runner.process.returncode} (log: {runner.log})")


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops Solr the way Ctrl-C does


COMMANDS = [solr]
