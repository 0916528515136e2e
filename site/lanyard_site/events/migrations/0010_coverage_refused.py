"""Coverage can be ``refused`` (shown to its author only), and ``failure`` holds a reason's
code (digest.vocabulary.LinkFailure) instead of the HTTP client's raw words: rows written
before are sorted into the codes here, their refused links hidden."""

import re

from django.db import migrations, models

# The client's words, as rows before this migration hold them, to a LinkFailure value.
# (Written out here rather than imported: a migration keeps the meaning it had.)
REFUSED = (
    (r"^address not allowed", "private address"),
    (r"^port \d+ not allowed", "port"),
    (r"^(scheme not allowed|not a valid (redirect )?URL|credentials in URLs|unix sockets)", "not a web address"),
)
FAILED = (
    (r"^HTTP (404|410)$", "page missing"),
    (r"^HTTP (401|403|451)$", "forbidden"),
    (r"^HTTP 429$", "busy"),
    (r"^HTTP 5\d\d$", "site error"),
    (r"^HTTP \d{3}$", "http error"),
    (r"^timed out", "timed out"),
    (r"^too large", "too large"),
    (r"^too many redirects", "too many redirects"),
    (r"^TLS failed", "tls"),
    (r"^(malformed|unsupported content encoding)", "malformed"),
    (r"cannot resolve", "not found"),
    (r"\[Errno 111\]|Connection refused", "connection refused"),
    (r"^connection failed", "connection failed"),
)


def sort_failures(apps, schema_editor):
    Coverage = apps.get_model("events", "Coverage")
    for row in Coverage.objects.exclude(failure="").only("pk", "status", "failure").iterator():
        refused = next((code for pattern, code in REFUSED if re.search(pattern, row.failure)), None)
        if refused is not None:
            Coverage.objects.filter(pk=row.pk).update(status="refused", failure=refused)
            continue
        code = next((code for pattern, code in FAILED if re.search(pattern, row.failure)), row.failure[:200])
        Coverage.objects.filter(pk=row.pk).update(failure=code)


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0009_listing_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='coverage',
            name='status',
            field=models.CharField(choices=[('fetching', 'fetching…'), ('ok', 'Ok'), ('failed', 'Failed'), ('refused', 'refused (its author sees it, nobody else)')], db_default='ok', default='ok', max_length=16),
        ),
        migrations.RunPython(sort_failures, migrations.RunPython.noop),
    ]
