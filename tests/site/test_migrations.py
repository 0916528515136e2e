"""Every migration can run under the release before it (README: "Deploys"): checked by
django-migration-linter against PostgreSQL's SQL, with the exceptions the settings name
(``MIGRATION_LINTER_OPTIONS``, each justified there). Warnings (an index built while the
table is locked) are printed, not failed: the tables they touch are small."""

import pytest
from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter


@pytest.mark.django_db(databases=["default", "postgresql"])
def test_every_migration_is_backward_compatible_or_a_named_exception(capsys):
    linter = MigrationLinter(database="postgresql", no_cache=True, **settings.MIGRATION_LINTER_OPTIONS)
    linter.lint_all_migrations()
    report = capsys.readouterr().out
    print(report)
    assert linter.nb_valid + linter.nb_warnings > 0, report  # it looked at migrations at all
    assert linter.nb_erroneous == 0, f"a migration the release before it cannot run under:\n{report}"


def test_each_named_exception_is_a_migration_that_exists():
    names = {name for _, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations}
    excepted = set(settings.MIGRATION_LINTER_OPTIONS["ignore_name"])
    assert excepted <= names, f"exceptions naming no migration: {sorted(excepted - names)}"
