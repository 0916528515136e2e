"""Operations: live settings an operator changed, and the audit trail of every operator change.

The core reads and writes these through ``digest/ops/`` (mirrored in ``digest/stores/db.py``);
the admin shows them. Flags and the read-only switch live in Redis, not here.
"""

from django.db import models


class LiveSetting(models.Model):
    name = models.CharField(max_length=64, primary_key=True)
    value = models.TextField(help_text="JSON")
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    class Meta:
        db_table = "live_setting"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} = {self.value}"


class OpsChange(models.Model):
    class Via(models.TextChoices):
        CLI = "cli"
        ADMIN = "admin"
        SITE = "site"  # a member's own change on the site (removing a link they pasted)

    name = models.CharField(max_length=64, help_text="A setting's name, flag:<name> or read_only.")
    old_value = models.TextField(help_text="JSON")
    new_value = models.TextField(help_text="JSON")
    changed_by = models.CharField(max_length=150)
    via = models.CharField(max_length=16, choices=Via.choices)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "ops_change"
        ordering = ["-changed_at", "-id"]
        verbose_name = "operator change"
        indexes = [models.Index(fields=["name", "changed_at"], name="ops_change_name_time")]

    def __str__(self):
        return f"{self.name}: {self.old_value} → {self.new_value} by {self.changed_by}"
