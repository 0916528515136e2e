"""Django settings, composed from lanyard's one configuration object.

Configured values come from :func:`digest.config.load_settings` (the ``LANYARD_*``
environment); everything below them is computed from it, so the site, the digest
workers and the unsubscribe endpoint can never disagree about where the data is.
"""

from urllib.parse import urlsplit

from digest.config import GITHUB_URL, load_settings
from digest.ops.logs import init_sentry, logging_config

LANYARD = load_settings()
PRODUCTION = LANYARD.production
BASE = urlsplit(LANYARD.site.base_url)

from pathlib import Path  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

from digest.embeds import FRAME_SRC  # noqa: E402

SITE_DIR = Path(__file__).resolve().parent

# DEBUG stays off in production; superusers see the technical 500 page anyway
# (lanyard_site.ops.middleware.ErrorMiddleware), and every error is logged with its traceback.
DEBUG = not PRODUCTION
SECRET_KEY = LANYARD.secret_keys[0]
SECRET_KEY_FALLBACKS = list(LANYARD.secret_keys[1:])
ALLOWED_HOSTS = [BASE.hostname] if PRODUCTION else ["*"]
# Forms posted to the public URL (https behind the TLS proxy) pass the CSRF origin check.
CSRF_TRUSTED_ORIGINS = [f"{BASE.scheme}://{BASE.netloc}"]


def database_settings(database):
    """Django's DATABASES entry for a parsed LANYARD_DATABASE_URL."""
    if database.backend == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(database.path),
            "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
            # Kept open between requests, as PostgreSQL's: opening one per request (and its
            # cold page cache) was ~1.5 ms of every page (profiled on the 100,000-people data).
            "CONN_MAX_AGE": 60,
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database.name,
        "USER": database.user,
        "PASSWORD": database.password,
        "HOST": database.host,
        "PORT": database.port or "",
        "CONN_MAX_AGE": 60,
        # The URL's query options (sslmode, application_name, connect_timeout, …) go to libpq.
        "OPTIONS": dict(database.options),
    }


DATABASES = {"default": database_settings(LANYARD.database.primary)}
DATABASE_ROUTERS = []
if LANYARD.database.replica is not None:
    # Site pages read from the replica; writes, and reads right after a write, use the primary.
    DATABASES["replica"] = database_settings(LANYARD.database.replica)
    DATABASE_ROUTERS = ["lanyard_site.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "lanyard_site.ops",  # first: its admin templates (operations link, profile bookmarklet) override the admin's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "corsheaders",
    "ninja",  # its Swagger UI assets, served from static (no CDN)
    "lanyard_site.events",
    "lanyard_site.mailing",
    "lanyard_site.personal",
    "lanyard_site.accounts",
    "lanyard_site.api",
    # Sign in with GitHub (allauth) and Mastodon, connecting accounts, the follows page.
    "lanyard_site.social",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
]

MIDDLEWARE = [
    # Forwarded headers from the proxies of LANYARD_TRUSTED_PROXIES only, before anything reads them.
    "lanyard_site.ops.proxy.ProxyHeadersMiddleware",
    # Before host checks and the https redirect: load balancers probe /healthz and /readyz by
    # address, over plain HTTP.
    "lanyard_site.ops.middleware.HealthMiddleware",
    # Notes the stores a request found away (Redis, the graph, search) and adds the banner.
    "lanyard_site.ops.degraded.DegradedMiddleware",
    # A NUL byte in any parameter or field, or a form body not in UTF-8: a 400, before any view.
    "lanyard_site.ops.bad_input.BadInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # In production static files are served first, before anything else touches the request
    # (hashed names, a year's expiry); in development Django's server serves them.
    *(["lanyard_site.personal.static_files.StaticFilesMiddleware"] if LANYARD.production else []),
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware, as it asks
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lanyard_site.personal.signin.SignedInMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lanyard_site.events.not_found.SiteNotFoundMiddleware",  # development only: the site's 404, not Django's
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lanyard_site.routers.ReplicaMiddleware",
    # /api/: tokens, rate limits, read-only writes, conditional GETs, problem details for
    # every error. Outside the ops middleware, so the API's own 503 answers a write first.
    "lanyard_site.api.middleware.ApiMiddleware",
    # The ops state (read-only, flags, live settings) once per request, then profiling
    # and error reporting, which need to know the user and the sample rate.
    "lanyard_site.ops.middleware.OpsMiddleware",
    "lanyard_site.ops.middleware.ProfileMiddleware",
    "lanyard_site.ops.middleware.ErrorMiddleware",
]

ROOT_URLCONF = "lanyard_site.urls"
WSGI_APPLICATION = "lanyard_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lanyard_site.ops.context.ops",
                "lanyard_site.personal.signin.context",
            ],
        },
    },
]

# Sign-up and password resets refuse short, common, all-digit and name-like passwords.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False

STATIC_URL = "static/"
STATICFILES_DIRS = [SITE_DIR / "static"]  # the site's own CSS, icons
STATIC_ROOT = str(LANYARD.data_dir / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content-hashed names, so static files can be served with far-future expiry; in
    # production collectstatic also writes each one gzip- (and Brotli-) compressed, which
    # WhiteNoise serves to browsers that accept it. Each URL worked out once per process.
    "staticfiles": {
        "BACKEND": "lanyard_site.personal.static_files.HashedStaticStorage"
        if LANYARD.production
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Named caches, no single global one. Template fragments (the {% cache %} tag uses
# "template_fragments") are shared by every process in Redis (the embedded one by
# default); their keys carry the cache_version of what they show, so an edit makes the
# old entry unreachable. "default" is per process, for hot small values; "rows" per
# process too, for event rows in lists (versioned the same way).
CACHES = {
    # Per process: small read results kept under a row's cache_version (a person's accounts and
    # co-speakers, an event's people lists) and a few lists kept for minutes. Django's default
    # of 300 entries culled a third of them whenever a worker had seen 300 pages' worth.
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lanyard-site", "TIMEOUT": 60,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
    # Event rows in lists, keyed by the event's cache_version: per process, many small
    # entries (a row is about 1 KB; 20,000 rows at most).
    "rows": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lanyard-rows",
        "TIMEOUT": 600, "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
    "template_fragments": {
        "BACKEND": "lanyard_site.personal.caching.LanyardRedisCache",  # RedisCache on LANYARD_REDIS_URL
        "TIMEOUT": 600,
    },
}

# The site's own emails (sign-up, password reset) go the digests' way (LANYARD_MAIL_URL).
EMAIL_BACKEND = "lanyard_site.personal.mail.TransportEmailBackend"
DEFAULT_FROM_EMAIL = LANYARD.mail.sender
CSRF_FAILURE_VIEW = "lanyard_site.personal.views.csrf_failure"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANYARD.production and LANYARD.site.base_url.startswith("https://")

# A strict policy on every page: nothing inline, nothing from elsewhere but https images
# (avatars) and the embedded players of the allow-listed providers (digest/embeds.py).
# The admin is left out: Django's admin pages use inline styles and scripts.
CONTENT_SECURITY_POLICY = {
    # The admin, and the superusers' profile page (its own inline styles draw the timeline).
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/_profile/"],
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": list(FRAME_SRC),
        # Sign in with GitHub posts to allauth, which redirects to GitHub's authorize page:
        # browsers check form-action on the redirects after a post too. (Mastodon's servers
        # can be anywhere: its flow leaves from a page, social/views.mastodon_start.)
        "form-action": [SELF, *([LANYARD.accounts.github_url] if LANYARD.accounts.github_client_id else [])],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
    },
}
# CORS on the API's public reads only: any origin may read them, without credentials; the
# signed-in person's endpoints (/api/v1/me/…) are same-origin.
CORS_URLS_REGEX = r"^/api/v1/(?!me(/|$)).*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "if-none-match", "if-modified-since"]
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Link", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                       "RateLimit-Reset"]
CORS_PREFLIGHT_MAX_AGE = 86400
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the site's own sign-in form
    "allauth.account.auth_backends.AuthenticationBackend",  # sign in with GitHub
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "calendar"
LOGOUT_REDIRECT_URL = "home"

# Sign in with GitHub through allauth (lanyard_site.social). Smallest scope: none at all
# (the public profile and public follow list); no e-mail scope; the token is used once,
# to read the profile, and never stored (the follow list is public). Without an OAuth app
# configured the button is not shown. allauth's own account pages are not used: the site
# keeps its sign-in form; a GitHub sign-in makes the lanyard person (social/adapter.py).
SOCIALACCOUNT_ADAPTER = "lanyard_site.social.adapter.SocialAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the button posts (CSRF-protected); a GET shows a confirm page
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email"]
ACCOUNT_ADAPTER = "lanyard_site.social.adapter.AccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        "SCOPE": [],
        "APP": {
            "client_id": LANYARD.accounts.github_client_id, "secret": LANYARD.accounts.github_client_secret, "key": "",
        },
        # allauth reads GitHub's API from GITHUB_URL + /api/v3 when set (GitHub Enterprise's layout).
        **({"GITHUB_URL": LANYARD.accounts.github_url} if LANYARD.accounts.github_url != GITHUB_URL else {}),
    },
}

# Behind the TLS-terminating proxy: it says https in X-Forwarded-Proto (it must overwrite
# any such header a client sends), believed only from LANYARD_TRUSTED_PROXIES
# (lanyard_site.ops.proxy). Everything below is what `check --deploy` asks for.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # On an https base URL (the only kind `check --deploy` is clean for): plain http is
    # redirected, browsers are told to stay on https, cookies never travel in the clear.
    SECURE_SSL_REDIRECT = BASE.scheme == "https"
    SECURE_HSTS_SECONDS = 31_536_000 if BASE.scheme == "https" else 0
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    # lanyard cannot know what else runs under the parent domain, nor whether the operator
    # wants the domain in browsers' preload lists: both are the operator's decision
    # (add them at the proxy), so the two checks asking for them are silenced.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

# The technical 500 page (superusers, production too) masks passwords in URLs and looks
# into lanyard's settings object field by field.
DEFAULT_EXCEPTION_REPORTER_FILTER = "lanyard_site.ops.reporting.LanyardExceptionReporterFilter"

# tests/site/test_migrations.py lints every migration against PostgreSQL with
# django-migration-linter (README: "Deploys"): each must work under the release before
# it. Creating an app's first tables is always compatible (no old code reads them), and
# these are the named exceptions, each checked safe by hand:
MIGRATION_LINTER_OPTIONS = {
    "ignore_initial_migrations": True,
    # lanyard's own apps only: a library's migrations (allauth's `account`, `socialaccount`)
    # arrive with a dependency upgrade, deployed on its own with read-only mode if needed.
    "include_apps": [
        app.rsplit(".", 1)[1] for app in INSTALLED_APPS if app.startswith("lanyard_site.")
    ],
    "ignore_name": [
        # "ADDING unique constraint" (follower, followee, source), replacing (follower,
        # followee): every existing row satisfies the wider key, and the release before
        # inserts follows with the column's database default, one per pair, as before.
        "0008_follow_source",
    ],
}

# Console lines or JSON (LANYARD_LOG_FORMAT), the same as the workers and the endpoint write.
LOGGING = logging_config(LANYARD, service="site")


def _sentry_integrations():
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415 -- loaded only with a DSN

    return [DjangoIntegration()]


if LANYARD.log.sentry_dsn:
    init_sentry(LANYARD, service="site", integrations=_sentry_integrations())
