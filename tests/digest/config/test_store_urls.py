import pytest

from digest.config import ConfigError, load_settings
from digest.config.store_urls import parse_broker_url, parse_database_url, parse_search_url


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "options"),
    [
        ("postgresql://u:p%40ss@host/db", "host", None, "u", "p@ss", ()),
        ("postgresql://u:p%2Fa%3Ab@h:6432/db?sslmode=require&application_name=x", "h", 6432, "u", "p/a:b",
         (("application_name", "x"), ("sslmode", "require"))),
        ("postgresql://u@[::1]:5433/db", "::1", 5433, "u", "", ()),
        ("postgres://u@[2001:db8::5]/db?connect_timeout=3", "2001:db8::5", None, "u", "", (("connect_timeout", "3"),)),
    ],
)
def test_database_urls_are_parsed_by_sqlalchemy(tmp_path, url, host, port, user, password, options):
    database = load_settings({"LANYARD_DATA_DIR": str(tmp_path), "LANYARD_DATABASE_URL": url}).database.primary
    assert (database.host, database.port, database.user, database.password, database.options, database.name) == (
        host, port, user, password, options, "db")
    rebuilt = database.sqlalchemy_url()
    rebuilt_parts = (rebuilt.host, rebuilt.port, rebuilt.password or "", dict(rebuilt.query))
    assert rebuilt_parts == (host, port, password, dict(options))
    assert password not in repr(database) or not password


def test_database_options_reach_django_and_libpq(tmp_path):
    from lanyard_site.settings import database_settings

    database = load_settings({"LANYARD_DATA_DIR": str(tmp_path),
                              "LANYARD_DATABASE_URL": "postgresql://u:p%40ss@[::1]:5433/db?sslmode=require"}).database.primary
    entry = database_settings(database)
    parts = (entry["HOST"], entry["PORT"], entry["PASSWORD"], entry["OPTIONS"])
    assert parts == ("::1", 5433, "p@ss", {"sslmode": "require"})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+socket:///", "names no socket path"),
        ("amqp://rabbit:port/vhost", "port that is not a number"),
        ("amqp:///vhost", "names no host"),
        ("kafka://k:9092", "unknown scheme 'kafka'"),
    ],
)
def test_bad_broker_urls_name_the_variable(url, says):
    with pytest.raises(ConfigError) as raised:
        parse_broker_url(url)
    assert str(raised.value).startswith("LANYARD_BROKER_URL: ") and says in str(raised.value)


def test_broker_and_search_urls_are_kept_or_normalised(tmp_path):
    assert parse_broker_url("") == ""
    assert parse_broker_url("amqp://u:p@rabbit:5672/v") == "amqp://u:p@rabbit:5672/v"
    assert parse_search_url(f"tantivy://{tmp_path}/index") == f"tantivy://{tmp_path}/index"


def test_a_password_never_reaches_a_database_error():
    with pytest.raises(ConfigError) as raised:
        parse_database_url("mysql://app:hunter2@db/lanyard", variable="LANYARD_DATABASE_REPLICA_URL")
    assert str(raised.value).startswith("LANYARD_DATABASE_REPLICA_URL: ") and "hunter2" not in str(raised.value)
