from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the listings (issue 22): events by date, the speakers directory, newest coverage."""

    dependencies = [
        ("events", "0008_follow_source"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["start_date", "end_date", "name", "id"], name="event_listing"),
        ),
        migrations.AddIndex(
            model_name="attendance",
            index=models.Index(fields=["role", "person"], name="attendance_role_person"),
        ),
        migrations.AddIndex(
            model_name="coverage",
            index=models.Index(fields=["created_at", "id"], name="coverage_created"),
        ),
    ]
