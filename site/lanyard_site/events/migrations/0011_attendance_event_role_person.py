from django.db import migrations, models


class Migration(migrations.Migration):
    """An event's people by role from the index alone (issue 22): (event, role) becomes
    (event, role, person), its prefix serving every query the old one did. The new index is
    built before the old one goes, so the release before this one never plans without it."""

    dependencies = [
        ("events", "0010_coverage_refused"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="attendance",
            index=models.Index(fields=["event", "role", "person"], name="attendance_event_role_person"),
        ),
        migrations.RemoveIndex(
            model_name="attendance",
            name="attendance_event_role",
        ),
    ]
