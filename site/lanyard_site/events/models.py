"""The catalogue: people, who follows whom, events, talks, attendance, coverage.

Models stay thin (fields, constraints, tiny helpers); what the site does with them
lives in plain functions. Table names are explicit because the Django-free digest core
mirrors them with SQLAlchemy (``digest/db.py``); a test fails when the two drift.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class CacheVersionedQuerySet(models.QuerySet):
    def touch(self) -> int:
        """Invalidate every cached fragment of these rows with one UPDATE."""
        return self.update(cache_version=F("cache_version") + 1)


class CacheVersioned(models.Model):
    """A ``cache_version`` that is part of every template-fragment cache key.

    Bumped on every save and by :meth:`touch`, so a cache entry is never invalidated by
    deletion, only made unreachable.
    """

    cache_version = models.PositiveIntegerField(default=1, editable=False)

    objects = CacheVersionedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            self.cache_version = (self.cache_version or 0) + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "cache_version"}
        super().save(*args, **kwargs)

    def touch(self) -> None:
        """Bump the version in the database (safe under concurrent touches) and here."""
        type(self).objects.using(self._state.db).filter(pk=self.pk).touch()
        self.refresh_from_db(fields=["cache_version"])


class Person(CacheVersioned):
    name = models.CharField(max_length=200)
    handle = models.SlugField(max_length=64, unique=True)
    bio = models.TextField(blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Part of the signed calendar feed token: bumping it revokes every older feed link.
    feed_version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )

    class Meta:
        db_table = "person"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (@{self.handle})"


class Follow(models.Model):
    follower = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="following")
    followee = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "follow"
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]

    def __str__(self):
        return f"{self.follower_id} → {self.followee_id}"


class Topic(CacheVersioned):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        db_table = "topic"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Event(CacheVersioned):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    start_date = models.DateField(db_index=True)
    end_date = models.DateField()
    timezone = models.CharField(max_length=64, default="UTC")
    venue = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True, db_index=True)
    country = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    topics = models.ManyToManyField(Topic, blank=True, related_name="events", db_table="event_topic")
    cfp_deadline = models.DateField("call-for-speakers deadline", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "event"
        ordering = ["start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="event_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.name} ({self.start_date:%Y-%m-%d})"


class Session(CacheVersioned):
    """A talk at an event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=300)
    abstract = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    speakers = models.ManyToManyField(Person, blank=True, related_name="sessions", db_table="session_speaker")

    class Meta:
        db_table = "session"
        ordering = ["starts_at", "title"]

    def __str__(self):
        return self.title


class Attendance(models.Model):
    class Role(models.TextChoices):
        ATTENDING = "attending"
        SPEAKING = "speaking"
        TRACKING = "tracking"  # interested, not going: not part of the digest's graph

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attendances")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendances")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ATTENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "attendance"
        constraints = [models.UniqueConstraint(fields=["person", "event"], name="attendance_unique_person_event")]
        indexes = [models.Index(fields=["event", "role"], name="attendance_event_role")]

    def __str__(self):
        return f"{self.person_id} {self.role} {self.event_id}"


class Coverage(models.Model):
    class Kind(models.TextChoices):
        SLIDES = "slides"
        VIDEO = "video"
        NOTES = "notes"
        WRITEUP = "writeup", "write-up"

    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="coverage")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="coverage")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "coverage"
        verbose_name_plural = "coverage"
        constraints = [
            models.CheckConstraint(
                condition=Q(event__isnull=False) | Q(session__isnull=False), name="coverage_has_event_or_session"
            ),
        ]

    def __str__(self):
        return self.title
