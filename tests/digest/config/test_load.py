from pathlib import Path

import pytest

from digest.config import ConfigError, load_settings

SECRET = "k-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def test_embedded_defaults_live_under_the_data_directory(tmp_path):
    settings = load_settings({"LANYARD_DATA_DIR": str(tmp_path)})
    assert settings.environment == "development"
    assert settings.database.primary.backend == "sqlite"
    assert settings.database.primary.path == tmp_path / "lanyard.sqlite3"
    assert settings.redis.url is None
    assert settings.redis.socket == tmp_path / "redis.sock"
    assert settings.search.backend == "tantivy"
    assert settings.search.path == tmp_path / "search"
    assert settings.mail.transport.scheme == "maildir" and settings.mail.transport.path == tmp_path / "outbox"
    assert settings.site.base_url == "http://localhost:8000"
    assert settings.site.unsubscribe_url == settings.site.base_url
    assert settings.mail.sender == "lanyard <digest@localhost>"


def test_development_secret_is_generated_once_and_kept(tmp_path):
    first = load_settings({"LANYARD_DATA_DIR": str(tmp_path)}).secret_keys
    second = load_settings({"LANYARD_DATA_DIR": str(tmp_path)}).secret_keys
    assert first == second and len(first[0]) >= 32
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_production_values_are_parsed(tmp_path):
    settings = load_settings({
        "LANYARD_ENV": "production",
        "LANYARD_DATA_DIR": str(tmp_path),
        "LANYARD_DATABASE_URL": "postgresql://app:s%40cret@db.internal:6432/lanyard",
        "LANYARD_REDIS_URL": "redis://cache:6379/2",
        "LANYARD_SEARCH_URL": "https://solr:8983/solr/lanyard/",
        "LANYARD_MAIL_URL": "smtp://mailer:pw@relay:587?starttls=true&timeout=10",
        "LANYARD_BASE_URL": "https://lanyard.example.com/",
        "LANYARD_SECRET_KEYS": f"{SECRET[::-1]}, {SECRET}",
    })
    assert settings.production
    url = settings.database.primary.sqlalchemy_url()
    assert url.render_as_string(hide_password=False) == "postgresql+psycopg://app:s%40cret@db.internal:6432/lanyard"
    assert (url.host, url.password) == ("db.internal", "s@cret")
    primary = settings.database.primary
    assert (primary.user, primary.password, primary.port) == ("app", "s@cret", 6432)
    assert settings.search.backend == "solr" and settings.search.url == "https://solr:8983/solr/lanyard"
    transport = settings.mail.transport
    assert (transport.host, transport.port, transport.starttls, transport.timeout) == (
        "relay",
        587,
        True,
        10.0,
    )
    assert settings.secret_keys == (SECRET[::-1], SECRET)
    assert settings.site.base_url == "https://lanyard.example.com"
    assert settings.mail.sender == "lanyard <digest@lanyard.example.com>"
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LANYARD_ENV", "staging", "must be one of"),
        ("LANYARD_DATABASE_URL", "mysql://db/lanyard", "unknown scheme 'mysql'"),
        ("LANYARD_DATABASE_URL", "postgresql://db:5432", "names no database"),
        ("LANYARD_DATABASE_URL", "postgresql://db:port/x", "port that is not a number"),
        ("LANYARD_DATABASE_URL", "not-a-url", "unknown scheme"),
        ("LANYARD_REDIS_URL", "http://cache", "unknown scheme 'http'"),
        ("LANYARD_REDIS_URL", "redis://:6379", "names no host"),
        ("LANYARD_SEARCH_URL", "elastic://x", "unknown scheme"),
        ("LANYARD_SEARCH_URL", "http://solr1:8983/solr/lanyard,solr2:8983/solr/lanyard", "names no http(s) host"),
        ("LANYARD_SEARCH_URL", "http://solr1:8983", "names no core or collection"),
        ("LANYARD_MAIL_URL", "smtp://", "names no host"),
        ("LANYARD_MAIL_URL", "smtp://relay?starttls=maybe", "starttls must be true or false"),
        ("LANYARD_MAIL_URL", "smtp://relay?tls=1", "unknown option"),
        ("LANYARD_MAIL_URL", "pigeon://coop", "unknown scheme"),
        ("LANYARD_BASE_URL", "lanyard.example.com", "is not an http(s) URL"),
        ("LANYARD_MAIL_FROM", "nobody", "not an email address"),
        ("LANYARD_BOUNCE_DOMAIN", "bounces@example.com", "not a domain name"),
        ("LANYARD_BOUNCE_DOMAIN", "-x.example.com", "not a domain name"),
        ("LANYARD_POSTAL_ADDRESS", "x" * 301, "longer than 300"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, variable, value, says):
    with pytest.raises(ConfigError) as raised:
        load_settings({"LANYARD_DATA_DIR": str(tmp_path), variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert says in message
    assert "\n" not in message


def test_production_requires_long_secrets(tmp_path):
    with pytest.raises(ConfigError, match="LANYARD_SECRET_KEYS: is required in production"):
        load_settings({"LANYARD_ENV": "production", "LANYARD_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="key number 2 is shorter"):
        load_settings({"LANYARD_ENV": "production", "LANYARD_SECRET_KEYS": f"{SECRET},short"})


ROOT = Path(__file__).resolve().parents[3]


def test_relative_data_directory_is_the_same_from_any_folder(tmp_path, monkeypatch):
    """`python site/manage.py` run inside site/ finds the database `lanyard` made at the top."""
    relative = f"var/test-{tmp_path.name}"
    seen = set()
    for folder in (ROOT, ROOT / "site", tmp_path):
        monkeypatch.chdir(folder)
        settings = load_settings({"LANYARD_DATA_DIR": relative, "LANYARD_SECRET_KEYS": SECRET})
        seen.add((settings.data_dir, settings.database.primary.path))
    assert seen == {(ROOT / relative, ROOT / relative / "lanyard.sqlite3")}
    (ROOT / relative).rmdir()


def test_default_data_directory_is_the_checkouts_var(monkeypatch):
    monkeypatch.chdir(ROOT / "site")
    assert load_settings({"LANYARD_SECRET_KEYS": SECRET}).data_dir == ROOT / "var"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LANYARD_DATABASE_URL", "postgresql://u:p ss@host/db", "contains a space"),
        ("LANYARD_DATABASE_REPLICA_URL", "postgresql://r:5432", "names no database"),
        ("LANYARD_DATABASE_REPLICA_URL", "sqlite:////tmp/x.sqlite3", "a replica copies its primary"),
        ("LANYARD_REDIS_URL", "redis://cache :6379", "contains a space"),
        ("LANYARD_DATA_DIR", "/proc/x", "cannot create or write /proc/x"),
        ("LANYARD_LOG_FORMAT", "xml", "must be one of console, json"),
        ("SENTRY_DSN", "not-a-dsn", "is not a Sentry DSN"),
    ],
)
def test_more_bad_values_name_the_variable(tmp_path, variable, value, says):
    env = {"LANYARD_DATA_DIR": str(tmp_path), "LANYARD_DATABASE_URL": "postgresql://p@db/lanyard", variable: value}
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    message = str(raised.value)
    assert message.startswith(f"{variable}: ") and says in message and "\n" not in message
    assert "p ss" not in message  # a password never reaches the error message
def test_bounce_settings_default_to_the_sender_domain(tmp_path):
    settings = load_settings(
        {"LANYARD_DATA_DIR": str(tmp_path), "LANYARD_MAIL_FROM": "lanyard <digest@Lanyard.Example>"}
    )
    assert settings.mail.bounce_domain == "lanyard.example"
    assert settings.mail.postal_address == ""
    custom = load_settings({
        "LANYARD_DATA_DIR": str(tmp_path), "LANYARD_BOUNCE_DOMAIN": "bounces.example.com",
        "LANYARD_POSTAL_ADDRESS": "  lanyard Ltd,\n 1 Rua Augusta,  Lisbon ",
    })
    assert custom.mail.bounce_domain == "bounces.example.com"
    assert custom.mail.postal_address == "lanyard Ltd, 1 Rua Augusta, Lisbon"


def test_solr_on_several_nodes(tmp_path):
    settings = load_settings({"LANYARD_DATA_DIR": str(tmp_path),
                              "LANYARD_SEARCH_URL": "http://solr1:8983/solr/lanyard/,http://solr2:8983/solr/lanyard"})
    assert settings.search.backend == "solr"
    assert settings.search.url == "http://solr1:8983/solr/lanyard,http://solr2:8983/solr/lanyard"
