"""One typed settings object, built from ``LANYARD_*`` environment variables.

``settings.py`` holds the groups (database, redis, search, mail, site, http, accounts,
log, nightly), ``load.py`` reads the environment into them, and the parsers of single
values live beside it (``scalars.py``, ``store_urls.py``, ``mail_urls.py``, ``files.py``).
"""

from digest.config.errors import ConfigError
from digest.config.load import load_settings
from digest.config.mail_urls import parse_mail_url
from digest.config.settings import (
    GITHUB_URL,
    AccountsSettings,
    DatabaseSettings,
    DatabaseURL,
    DkimKey,
    HttpSettings,
    LogSettings,
    MailSettings,
    MailURL,
    NightlySettings,
    RedisSettings,
    SearchSettings,
    Settings,
    SiteSettings,
)
from digest.config.store_urls import parse_database_url

__all__ = [
    "GITHUB_URL",
    "AccountsSettings",
    "ConfigError",
    "DatabaseSettings",
    "DatabaseURL",
    "DkimKey",
    "HttpSettings",
    "LogSettings",
    "MailSettings",
    "MailURL",
    "NightlySettings",
    "RedisSettings",
    "SearchSettings",
    "Settings",
    "SiteSettings",
    "load_settings",
    "parse_database_url",
    "parse_mail_url",
]
