"""Django settings for in-process site tests: the real settings, plus a PostgreSQL alias.

Site tests mark ``@pytest.mark.django_db(databases=["default", "postgresql"])`` and run
their writes on both: ``default`` is SQLite, ``postgresql`` the local server.
"""

import os
import tempfile

from tests.conftest import POSTGRES_URL, REDIS_URL, TEST_SECRET

os.environ.setdefault("LANYARD_DATA_DIR", tempfile.mkdtemp(prefix="lanyard-django-"))
os.environ.setdefault("LANYARD_REDIS_URL", REDIS_URL)
os.environ.setdefault("LANYARD_SECRET_KEYS", TEST_SECRET)

from digest.config import parse_database_url
from lanyard_site.settings import *  # noqa: F403
from lanyard_site.settings import database_settings

DATABASES["postgresql"] = database_settings(parse_database_url(POSTGRES_URL))  # noqa: F405 -- from lanyard_site.settings
# One test database per test process, so parallel runs never share one.
DATABASES["postgresql"]["TEST"] = {"NAME": f"lanyard_django_test_{os.getpid()}"}  # noqa: F405 -- from lanyard_site.settings
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# SQLite's test database in a file, not in memory: the digest core's services that site
# views call (subscription changes) reach it through their own SQLAlchemy engine.
DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.mkdtemp(prefix="lanyard-django-db-"), "test.sqlite3")}  # noqa: F405

# Second databases standing in for read replicas (tests/ops/test_site.py routes reads to them).
_REPLICA_FILE = os.path.join(tempfile.mkdtemp(prefix="lanyard-django-db-"), "replica.sqlite3")
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"NAME": _REPLICA_FILE}}  # noqa: F405
DATABASES["postgresql_replica"] = {  # noqa: F405
    **DATABASES["postgresql"], "TEST": {"NAME": f"lanyard_django_test_replica_{os.getpid()}"},  # noqa: F405
}
