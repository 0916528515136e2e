from pathlib import Path

import pytest

from digest.config import ConfigError, load_settings

SECRET = "k" * 40


def test_embedded_defaults_live_under_the_data_directory(tmp_path):
    settings = load_settings({"LANYARD_DATA_DIR": str(tmp_path)})
    assert settings.environment == "development"
    assert settings.database.backend == "sqlite"
    assert settings.database.path == tmp_path / "lanyard.sqlite3"
    assert settings.redis_url is None
    assert settings.embedded_redis_socket == tmp_path / "redis.sock"
    assert settings.search_backend == "tantivy"
    assert settings.search_path == tmp_path / "search"
    assert settings.mail.scheme == "maildir" and settings.mail.path == tmp_path / "outbox"
    assert settings.base_url == "http://localhost:8000"
    assert settings.unsubscribe_url == settings.base_url
    assert settings.mail_from == "lanyard <digest@localhost>"


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
        "LANYARD_SECRET_KEYS": f"{'n' * 40}, {SECRET}",
    })
    assert settings.production
    assert settings.database.sqlalchemy_url() == "postgresql+psycopg://app:s@cret@db.internal:6432/lanyard"
    assert (settings.database.user, settings.database.password, settings.database.port) == ("app", "s@cret", 6432)
    assert settings.search_backend == "solr" and settings.search_url == "https://solr:8983/solr/lanyard"
    assert (settings.mail.host, settings.mail.port, settings.mail.starttls, settings.mail.timeout) == (
        "relay",
        587,
        True,
        10.0,
    )
    assert settings.secret_keys == ("n" * 40, SECRET)
    assert settings.base_url == "https://lanyard.example.com"
    assert settings.mail_from == "lanyard <digest@lanyard.example.com>"
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LANYARD_ENV", "staging", "must be one of"),
        ("LANYARD_DATABASE_URL", "mysql://db/lanyard", "unknown scheme 'mysql'"),
        ("LANYARD_DATABASE_URL", "postgresql://db:5432", "names no database"),
        ("LANYARD_DATABASE_URL", "postgresql://db:port/x", "port that is not a number"),
        ("LANYARD_DATABASE_URL", "not a url", "unknown scheme"),
        ("LANYARD_REDIS_URL", "http://cache", "unknown scheme 'http'"),
        ("LANYARD_REDIS_URL", "redis://:6379", "names no host"),
        ("LANYARD_SEARCH_URL", "elastic://x", "unknown scheme"),
        ("LANYARD_MAIL_URL", "smtp://", "names no host"),
        ("LANYARD_MAIL_URL", "smtp://relay?starttls=maybe", "starttls must be true or false"),
        ("LANYARD_MAIL_URL", "smtp://relay?tls=1", "unknown option"),
        ("LANYARD_MAIL_URL", "pigeon://coop", "unknown scheme"),
        ("LANYARD_BASE_URL", "lanyard.example.com", "is not an http(s) URL"),
        ("LANYARD_MAIL_FROM", "nobody", "not an email address"),
        ("LANYARD_BOUNCE_DOMAIN", "bounces@example.com", "not a domain name"),
        ("LANYARD_BOUNCE_DOMAIN", "-x.example.com", "not a domain name"),
        ("LANYARD_SOFT_BOUNCE_LIMIT", "three", "not a whole number"),
        ("LANYARD_SOFT_BOUNCE_LIMIT", "0", "between 1 and 1000"),
        ("LANYARD_SOFT_BOUNCE_DAYS", "99999", "between 1 and 3650"),
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


def test_relative_data_directory_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"LANYARD_DATA_DIR": "var", "LANYARD_SECRET_KEYS": SECRET})
    assert settings.data_dir == Path(tmp_path) / "var"


def test_bounce_settings_default_to_the_sender_domain(tmp_path):
    settings = load_settings(
        {"LANYARD_DATA_DIR": str(tmp_path), "LANYARD_MAIL_FROM": "lanyard <digest@Lanyard.Example>"}
    )
    assert (settings.bounce_domain, settings.soft_bounce_limit, settings.soft_bounce_days) == ("lanyard.example", 3, 14)
    assert settings.postal_address == ""
    custom = load_settings({
        "LANYARD_DATA_DIR": str(tmp_path), "LANYARD_BOUNCE_DOMAIN": "bounces.example.com",
        "LANYARD_POSTAL_ADDRESS": "  lanyard Ltd,\n 1 Rua Augusta,  Lisbon ", "LANYARD_SOFT_BOUNCE_LIMIT": "5",
    })
    assert (custom.bounce_domain, custom.postal_address, custom.soft_bounce_limit) == (
        "bounces.example.com", "lanyard Ltd, 1 Rua Augusta, Lisbon", 5)
