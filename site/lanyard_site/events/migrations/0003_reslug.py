"""Re-slug every event, person and topic whose slug is not in the form digest.slugs makes
(accents, capitals, underscores: what the URL patterns refuse), keeping each old slug in
slug_history so the links in emails already sent answer 301 to the new one.

Rows already in slug form keep theirs. The new slug is the old one's words made ASCII
("são-paulo" → "sao-paulo"); when that is taken, the row's id is appended, which is
unique. Uses digest.slugs itself, so the migration makes exactly what the site makes.
"""

from django.db import migrations

from digest.slugs import is_slug, make_slug, slug_words

BATCH = 2_000
TABLES = (("Event", "slug", "event"), ("Person", "handle", "person"), ("Topic", "slug", "topic"))


def reslug(apps, schema_editor):
    alias = schema_editor.connection.alias
    history = apps.get_model("events", "SlugHistory")
    for model_name, field, kind in TABLES:
        model = apps.get_model("events", model_name)
        max_length = model._meta.get_field(field).max_length
        rows = model.objects.using(alias)
        taken = set(rows.values_list(field, flat=True))
        changed, old_slugs = [], []
        for row in rows.only("pk", field).order_by("pk").iterator(chunk_size=BATCH):
            old = getattr(row, field)
            if is_slug(old):
                continue
            new = slug_words(old, max_length=max_length)
            if new in taken:
                new = make_slug(old, row.pk, max_length=max_length)
            taken.add(new)
            setattr(row, field, new)
            changed.append(row)
            old_slugs.append(history(kind=kind, slug=old, target_id=row.pk))
            if len(changed) >= BATCH:
                rows.bulk_update(changed, [field])
                history.objects.using(alias).bulk_create(old_slugs, ignore_conflicts=True)
                changed, old_slugs = [], []
        rows.bulk_update(changed, [field])
        history.objects.using(alias).bulk_create(old_slugs, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("events", "0002_slug_history")]

    operations = [migrations.RunPython(reslug, migrations.RunPython.noop)]
