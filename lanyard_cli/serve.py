import logging
from urllib.parse import urlsplit

import click


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
    public = urlsplit(settings.unsubscribe_url)
    host = host or public.hostname
    if port is None:
        port = public.port or (443 if public.scheme == "https" else 80)
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
    """Serve the site (pages, admin) with Django's development server."""
    public = urlsplit(app.settings.base_url)
    host = host or public.hostname
    if port is None:
        port = public.port or (443 if public.scheme == "https" else 80)
    app.setup_django()
    from django.core.management import call_command

    # No autoreloader: it would re-run this whole command in a child process;
    # `python site/manage.py runserver` is there for reloading on code changes.
    call_command("runserver", f"{host}:{port}", use_reloader=False)


COMMANDS = [serve]
