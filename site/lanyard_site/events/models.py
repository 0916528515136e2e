"""The catalogue: people, who follows whom, events, talks, attendance, coverage.

Models stay thin (fields, constraints, tiny helpers); what the site does with them
lives in plain functions. Table names are explicit because the Django-free digest core
mirrors them with SQLAlchemy (``digest/stores/db.py``); a test fails when the two drift.
"""

import datetime as dt
import uuid
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q

from digest.slugs import is_slug, make_slug, slug_words
from digest.weburls import WEB_SCHEMES

# Stored URLs must be http(s): nothing else is ever rendered as a link (see also the
# template filter `web_url`, for rows that reached the database around validation).
web_url_validator = URLValidator(schemes=list(WEB_SCHEMES))


def validate_slug_form(value: str) -> None:
    if not is_slug(value):
        raise ValidationError(
            "Use lowercase ASCII letters and digits in words joined by single hyphens, e.g. pycon-lisbon-2027.",
            code="invalid_slug",
        )


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
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        # Counted up in the database, not from this copy: a row touched since it was read
        # (a cascade's UPDATE) would otherwise be given a version already used, under which
        # a fragment of its old content may be kept.
        self.cache_version = F("cache_version") + 1
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "cache_version"}
        super().save(*args, **kwargs)
        self.refresh_from_db(fields=["cache_version"])

    def touch(self) -> None:
        """Bump the version in the database (safe under concurrent touches) and here."""
        type(self).objects.using(self._state.db).filter(pk=self.pk).touch()
        self.refresh_from_db(fields=["cache_version"])


class SlugKind(StrEnum):
    """Which table an old slug belongs to."""

    EVENT = "event"
    PERSON = "person"
    TOPIC = "topic"


class SlugHistory(models.Model):
    """A slug or handle a row had before: its old URL answers 301 to the current one, so
    links in emails already sent keep working."""

    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in SlugKind])
    slug = models.CharField(max_length=200)
    target_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "slug_history"
        verbose_name_plural = "slug history"
        constraints = [models.UniqueConstraint(fields=["kind", "slug"], name="slug_history_unique_kind_slug")]

    def __str__(self):
        return f"{self.kind} {self.slug} → {self.target_id}"


def slug_length(model: type[models.Model], field_name: str) -> int:
    """The longest slug a model's slug field holds."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, models.CharField) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{field_name} is not a slug field with a length")
    return field.max_length


class Slugged(CacheVersioned):
    """A row with a slug made by ``digest.slugs``: a blank slug is made from the name and
    the id, a hand-written one is brought into slug form, and a changed slug leaves the
    old one in :class:`SlugHistory`."""

    SLUG_FIELD = "slug"
    SLUG_KIND: SlugKind
    name: str  # each slugged model's own name field

    class Meta:
        abstract = True

    def made_slug(self, *, max_length: int) -> str:
        """The slug ``digest.slugs`` makes for this saved row."""
        return make_slug(self.name, self.pk, max_length=max_length)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_slug = instance.__dict__.get(cls.SLUG_FIELD)
        return instance

    def save(self, *args, **kwargs):
        value = getattr(self, self.SLUG_FIELD) or ""
        made_later = not value
        if made_later:  # a unique placeholder until the id is known
            value = f"new-{uuid.uuid4().hex}"
        elif not is_slug(value):
            value = slug_words(value, max_length=slug_length(type(self), self.SLUG_FIELD))
        setattr(self, self.SLUG_FIELD, value)
        super().save(*args, **kwargs)
        using = kwargs.get("using") or self._state.db
        if made_later:
            final = self.made_slug(max_length=slug_length(type(self), self.SLUG_FIELD))
            type(self).objects.using(using).filter(pk=self.pk).update(**{self.SLUG_FIELD: final})
            setattr(self, self.SLUG_FIELD, final)
        old = getattr(self, "_loaded_slug", None)
        new = getattr(self, self.SLUG_FIELD)
        if old and old != new:
            history = SlugHistory.objects.using(using)
            history.update_or_create(kind=self.SLUG_KIND, slug=old, defaults={"target_id": self.pk})
            history.filter(kind=self.SLUG_KIND, slug=new).delete()  # the current slug is no longer "old"
        self._loaded_slug = new


class Person(Slugged):
    SLUG_FIELD = "handle"
    SLUG_KIND = SlugKind.PERSON

    name = models.CharField(max_length=200)
    handle = models.SlugField(max_length=64, unique=True, blank=True, validators=[validate_slug_form])
    bio = models.TextField(blank=True)
    avatar_url = models.URLField(max_length=500, blank=True, validators=[web_url_validator])
    timezone = models.CharField(max_length=64, default="UTC")
    # Part of the signed calendar feed token: bumping it revokes every older feed link.
    feed_version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    shared: int  # not a column: set on co-speakers (events spoken at together, from search)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )

    class Meta:
        db_table = "person"
        ordering = ["name"]
        indexes = [models.Index(fields=["name", "id"], name="person_name")]  # the directories, by name

    def __str__(self):
        return f"{self.name} (@{self.handle})"


class Follow(models.Model):
    """One reason a person follows another: one row per (follower, followee, source).

    ``manual`` rows are made on the site (``personal.services``) and by the seed; the
    imported sources (github, mastodon, bluesky) are owned by ``digest/accounts/``, which
    replaces one source's rows for one person in a transaction and never touches manual
    ones. The Redis graph holds the pair while any row for it remains (graph_signals.py,
    digest/accounts/follows.py); readers that want pairs select distinct pairs.
    """

    class Source(models.TextChoices):  # = digest.vocabulary.FollowSource
        MANUAL = "manual", "made on lanyard"
        GITHUB = "github", "GitHub"
        MASTODON = "mastodon", "Mastodon"
        BLUESKY = "bluesky", "Bluesky"

    follower = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="following")
    followee = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)
    # A database default, so rows written without it (the seed, older code) are manual.
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL, db_default=Source.MANUAL)

    class Meta:
        db_table = "follow"
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee", "source"], name="follow_unique_source"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]

    def __str__(self):
        return f"{self.follower_id} → {self.followee_id} ({self.source})"


class Topic(Slugged):
    SLUG_KIND = SlugKind.TOPIC

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True, blank=True, validators=[validate_slug_form])

    class Meta:
        db_table = "topic"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def made_slug(self, *, max_length: int) -> str:
        # Topics are few and uniquely named: the name alone ("django", "c-plus-plus").
        return slug_words(self.name, max_length=max_length)


class Event(Slugged):
    SLUG_KIND = SlugKind.EVENT

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, blank=True, validators=[validate_slug_form])
    description = models.TextField(blank=True)
    start_date = models.DateField(db_index=True)
    end_date = models.DateField()
    timezone = models.CharField(max_length=64, default="UTC")
    venue = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True, db_index=True)
    country = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True, validators=[web_url_validator])
    topics = models.ManyToManyField(Topic, blank=True, related_name="events", db_table="event_topic")
    cfp_deadline = models.DateField("call-for-speakers deadline", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    going: int  # not a column: set by the home page (people attending or speaking)

    class Meta:
        db_table = "event"
        ordering = ["start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="event_ends_after_start"),
        ]
        # The listings' order with the upcoming/past test inside: a page's ids are found
        # from the index alone (selectors/paging.py: paginate), its rows read for that page only.
        indexes = [models.Index(fields=["start_date", "end_date", "name", "id"], name="event_listing")]

    def __str__(self):
        return f"{self.name} ({self.start_date:%Y-%m-%d})"


class Session(CacheVersioned):
    """A talk at an event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=300)
    abstract = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    room = models.CharField(max_length=100, blank=True, default="", db_default="")
    speakers = models.ManyToManyField(Person, blank=True, related_name="sessions", db_table="session_speaker")
    local_start: dt.datetime | None  # not a column: set by the selectors (in the event's timezone)

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
        indexes = [
            # An event's people by role, their ids from the index alone (events/selectors/event.py).
            models.Index(fields=["event", "role", "person"], name="attendance_event_role_person"),
            # The speakers directory: "has this person spoken?" answered from the index alone.
            models.Index(fields=["role", "person"], name="attendance_role_person"),
        ]

    def __str__(self):
        return f"{self.person_id} {self.role} {self.event_id}"


class Coverage(models.Model):
    """A link about a talk or an event: slides, a video, notes, a write-up.

    Pasted links are stored at once with ``status=fetching`` and the URL as their title;
    a Celery task (scheduler/coverage_tasks.py) fetches them through the guarded HTTP
    client and fills in the rest. Embeds are a provider name and an id from
    ``digest/embeds.py``, never HTML from the network.
    """

    class Kind(models.TextChoices):  # = digest.vocabulary.CoverageKind
        SLIDES = "slides"
        VIDEO = "video"
        NOTES = "notes"
        WRITEUP = "writeup", "write-up"

    class Status(models.TextChoices):  # = digest.vocabulary.CoverageStatus
        FETCHING = "fetching", "fetching…"
        OK = "ok"
        FAILED = "failed"
        REFUSED = "refused", "refused (its author sees it, nobody else)"

    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="coverage")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="coverage")
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)  # blank: not known yet
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=500, validators=[web_url_validator])
    created_at = models.DateTimeField(auto_now_add=True)
    # Database defaults, so rows written without them (the seed, older code) stay valid.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK, db_default=Status.OK)
    # A digest.vocabulary.LinkFailure; digest/coverage/failures.py says it in words.
    failure = models.CharField("why the fetch failed", max_length=200, blank=True, default="", db_default="")
    provider = models.CharField(max_length=32, blank=True, default="", db_default="")  # a digest/embeds.py name
    embed_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    thumbnail_url = models.URLField(max_length=500, blank=True, default="", db_default="")
    etag = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_modified = models.CharField(max_length=64, blank=True, default="", db_default="")
    fetched_at = models.DateTimeField(null=True, blank=True)
    # Who pasted it (None: the admin or the CLI): they see "fetching…" and why a fetch failed.
    added_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "coverage"
        verbose_name_plural = "coverage"
        constraints = [
            models.CheckConstraint(
                condition=Q(event__isnull=False) | Q(session__isnull=False), name="coverage_has_event_or_session"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "fetched_at"], name="coverage_status_fetched"),
            # Newest first (/coverage/, a topic's, a speaker's): walked in order, never sorted.
            models.Index(fields=["created_at", "id"], name="coverage_created"),
        ]

    def __str__(self):
        return self.title
