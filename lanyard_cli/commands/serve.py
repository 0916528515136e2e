import logging
import os
from urllib.parse import urlsplit

import click

from ..steps import listen_address

DEFAULT_BIND = "127.0.0.1:8001"  # = unsubscribe_web.gunicorn_conf's default


@click.group()
def serve():
    """Run a web endpoint for development (production: see README)."""


@serve.command()
@click.option("--host", default=None, help="Interface to listen on [default: LANYARD_UNSUBSCRIBE_URL's host].")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Port [default: LANYARD_UNSUBSCRIBE_URL's port].")
@click.pass_obj
def unsubscribe(app, host, port):
    """Serve the unsubscribe endpoint (/u/<token>) with a threaded development server."""
    from unsubscribe_web.app import create_app
    from unsubscribe_web.devserver import make_dev_server

    settings = app.settings
    host, port = _endpoint_address(settings, host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    wsgi_app = create_app(settings)
    try:
        server = make_dev_server(wsgi_app, host, port)
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({error.strerror or error}); pick another --port"
        ) from None
    click.echo(f"unsubscribe endpoint on http://{host}:{server.server_port}/u/<token> (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()


@serve.command()
@click.option("--host", default=None, help="Interface to listen on [default: LANYARD_BASE_URL's host].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port [default: LANYARD_BASE_URL's port].")
@click.pass_obj
def site(app, host, port):
    """Serve the site (pages, admin, and the emails' /u/ and /r/ links) with Django's development server."""
    host, port = listen_address(app.settings.site.base_url, host, port)
    run_site(app, host, port)


def run_site(app, host: str, port: int) -> None:
    """Django's development server for the site, with the unsubscribe endpoint's paths mounted."""
    app.setup_django()
    from django.contrib.staticfiles.management.commands.runserver import Command as RunServer
    from django.core.management import call_command

    from unsubscribe_web.app import create_app
    from unsubscribe_web.mount import with_endpoint

    endpoint = create_app(app.settings)

    class SiteWithEndpoint(RunServer):
        def get_handler(self, *args, **options):
            return with_endpoint(super().get_handler(*args, **options), endpoint)

    # No autoreloader: it would re-run this whole command in a child process;
    # `python site/manage.py runserver` is there for reloading on code changes.
    call_command(SiteWithEndpoint(), f"{host}:{port}", use_reloader=False)


def _endpoint_address(settings, host: str | None, port: int | None) -> tuple[str, int]:
    """Where the endpoint alone listens: the unsubscribe URL's address when it has one of its
    own; when it is the site's (the default), the site already serves the links, so the
    endpoint takes ``LANYARD_UNSUBSCRIBE_BIND`` (127.0.0.1:8001) instead of the site's port."""
    same = urlsplit(settings.site.unsubscribe_url).netloc == urlsplit(settings.site.base_url).netloc
    if not same:
        return listen_address(settings.site.unsubscribe_url, host, port)
    bind = os.environ.get("LANYARD_UNSUBSCRIBE_BIND", DEFAULT_BIND)
    bind_host, _, bind_port = bind.rpartition(":")
    if not bind_port.isdigit() or int(bind_port) > 65535:
        raise click.ClickException(f"LANYARD_UNSUBSCRIBE_BIND={bind!r} is not HOST:PORT; or pass --host and --port")
    click.echo(f"the site ({settings.site.base_url}) serves /u/ and /r/ itself; this endpoint runs on its own port")
    return host or bind_host or "127.0.0.1", port if port is not None else int(bind_port)


COMMANDS = [serve]
