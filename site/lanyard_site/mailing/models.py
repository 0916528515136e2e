"""Subscriptions, their audit trail, and the digest batch with its delivery ledger."""

from django.db import models
from django.db.models import Q


class Subscription(models.Model):
    class List(models.TextChoices):
        DAILY = "daily", "daily digest"
        WEEKLY = "weekly", "weekly digest"

    class Status(models.TextChoices):
        ACTIVE = "active"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCING = "bouncing"

    person = models.ForeignKey("events.Person", on_delete=models.CASCADE, related_name="subscriptions")
    list = models.CharField(max_length=16, choices=List.choices, default=List.DAILY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    email = models.EmailField(max_length=254)
    send_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, default=7,
        help_text="Hour of the day in the person's timezone; empty: the schedule's default send hour.",
    )
    last_sent_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "subscription"
        constraints = [
            models.UniqueConstraint(fields=["person", "list"], name="subscription_unique_person_list"),
            models.CheckConstraint(
                condition=Q(send_hour__gte=0, send_hour__lte=23), name="subscription_send_hour_range"
            ),
        ]
        indexes = [models.Index(fields=["list", "status"], name="subscription_list_status")]

    def __str__(self):
        return f"{self.email} ({self.list}, {self.status})"


class UnsubscribeEvent(models.Model):
    class Action(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe"
        RESUBSCRIBE = "resubscribe"

    class Via(models.TextChoices):
        LINK = "link", "link in an email"
        ONE_CLICK = "one_click", "one-click header (RFC 8058)"
        SITE = "site"
        ADMIN = "admin"
        COMPLAINT = "complaint", "spam complaint (feedback loop)"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="unsubscribe_events")
    action = models.CharField(max_length=16, choices=Action.choices)
    via = models.CharField(max_length=16, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "unsubscribe_event"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.action} via {self.via} at {self.created_at:%Y-%m-%d %H:%M}"


class DigestRun(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned"
        RUNNING = "running"
        PAUSED = "paused"
        CANCELLED = "cancelled"
        FINISHED = "finished"
        FAILED = "failed"

    list = models.CharField(max_length=16, choices=Subscription.List.choices, default=Subscription.List.DAILY)
    digest_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    dry_run = models.BooleanField(default=False)
    planned = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # A database default, so rows written without it (older code, fixtures) still insert.
    bounced = models.PositiveIntegerField(default=0, db_default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds spent per pipeline stage.")
    notes = models.TextField(blank=True, help_text="What happened: faults met, strategy used.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "digest_run"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["digest_date", "list"], name="digest_run_date_list")]

    def __str__(self):
        return f"run {self.pk}: {self.list} {self.digest_date} ({self.status})"


class Delivery(models.Model):
    """The ledger: a delivery is claimed here before it is sent, marked after."""

    class Status(models.TextChoices):
        CLAIMED = "claimed"
        SENT = "sent"
        SKIPPED = "skipped"  # nothing new, or unsubscribed meanwhile
        FAILED = "failed"  # temporary failure; retried
        BOUNCED = "bounced"  # permanent failure; subscription marked bouncing

    class Feedback(models.TextChoices):
        """What came back after the message was sent (digest/bounces/): the latest report."""

        NONE = "", "none"
        SOFT_BOUNCE = "soft_bounce", "soft bounce (4.x.x)"
        HARD_BOUNCE = "hard_bounce", "hard bounce (5.x.x)"
        COMPLAINT = "complaint", "spam complaint"

    run = models.ForeignKey(DigestRun, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    digest_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CLAIMED)
    message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Bumped by every claim; the claim's later writes match it, so a worker whose claim
    # was taken over can neither send nor overwrite (fencing, digest/delivery/ledger.py).
    # A database default, so code that does not know the column (the release before it,
    # during a deploy) still inserts rows.
    claim_generation = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    mentioned = models.JSONField(
        null=True,
        blank=True,
        help_text="Event ids this digest listed as new: what the subscription has been told about.",
    )
    # A database default, so the core's claims (which do not name it) insert rows too.
    feedback = models.CharField(max_length=16, choices=Feedback.choices, blank=True, default="", db_default="")
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "delivery"
        verbose_name_plural = "deliveries"
        constraints = [
            # One digest per subscription per digest date, whatever runs or workers try.
            models.UniqueConstraint(fields=["subscription", "digest_date"], name="delivery_once_per_digest"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="delivery_run_status"),
            # Bounces without a return-path token are matched by the Message-ID they quote.
            models.Index(fields=["message_id"], name="delivery_message_id"),
        ]

    def __str__(self):
        return f"{self.subscription_id} {self.digest_date} {self.status}"


class DeliveryFeedback(models.Model):
    """One bounce or complaint report about a delivery, and what lanyard decided on it.

    Written by digest/bounces/ (the core); the fingerprint of the report is unique, so a
    report read twice (replayed, or fetched again from a mailbox) is recorded once.
    """

    class Kind(models.TextChoices):
        SOFT_BOUNCE = "soft_bounce", "soft bounce (4.x.x)"
        HARD_BOUNCE = "hard_bounce", "hard bounce (5.x.x)"
        COMPLAINT = "complaint", "spam complaint"

    class Decision(models.TextChoices):
        BOUNCING = "bouncing", "subscription marked bouncing"
        COUNTED = "counted", "counted, below the soft-bounce limit"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed and suppressed"
        NO_CHANGE = "no_change", "no change (already so)"

    class MatchedBy(models.TextChoices):
        RETURN_PATH = "return_path", "signed return path (VERP)"
        MESSAGE_ID = "message_id", "Message-ID in the ledger"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="feedback_reports")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="feedback_reports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status_code = models.CharField(
        max_length=16, blank=True, help_text="The DSN's status (5.1.1) or the complaint's feedback type."
    )
    diagnostic = models.TextField(blank=True, help_text="What the remote server said.")
    matched_by = models.CharField(max_length=16, choices=MatchedBy.choices)
    source = models.CharField(max_length=16, help_text="Where the report came from: smtp, maildir or imap.")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    detail = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the report; a replay is refused.")
    received_at = models.DateTimeField()

    class Meta:
        db_table = "delivery_feedback"
        ordering = ["-received_at"]
        verbose_name_plural = "delivery feedback"
        indexes = [models.Index(fields=["subscription", "kind", "received_at"], name="delivery_feedback_recent")]

    def __str__(self):
        return f"{self.kind} for subscription {self.subscription_id}: {self.decision}"


class DigestChunk(models.Model):
    """One chunk of a run's subscriptions: a unit of work for one Celery task.

    Kept in the database, not only in the broker, so a chunk whose message was lost (a
    worker killed, a broker restarted without persistence) is found and sent again, and
    a chunk finished twice is counted once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PAUSED = "paused"
        DONE = "done"
        FAILED = "failed"

    run = models.ForeignKey(DigestRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    subscription_ids = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    claim = models.CharField(max_length=64, blank=True, help_text="Id of the task working on it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "digest_chunk"
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="digest_chunk_unique_number")]
        indexes = [models.Index(fields=["status"], name="digest_chunk_status")]

    def __str__(self):
        return f"run {self.run_id} chunk {self.number} ({self.status})"


class Schedule(models.Model):
    """The scheduler's runtime settings: one row, read by every beat tick and worker.

    Operators change it with `lanyard schedule set` or in the admin; it takes effect at
    the next tick (rate limit: within seconds), with no restart.
    """

    paused = models.BooleanField(default=False, help_text="Global pause: ticks plan nothing, chunks wait.")
    tick_seconds = models.PositiveIntegerField(default=300, help_text="How often a beat tick plans what is due.")
    default_send_hour = models.PositiveSmallIntegerField(
        default=7, help_text="Local hour for subscriptions without one."
    )
    lists = models.CharField(max_length=64, default="daily,weekly", help_text="Comma-separated lists that run.")
    weekly_day = models.PositiveSmallIntegerField(default=0, help_text="Local weekday of the weekly list (0 = Monday).")
    rate_limit = models.PositiveIntegerField(
        default=0, help_text="Messages per second across all workers; 0: unlimited."
    )
    chunk_size = models.PositiveIntegerField(default=500)
    chunk_timeout = models.PositiveIntegerField(
        default=600, help_text="Seconds after which a running chunk counts as lost."
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=5, help_text="Automatic retries of temporarily failed deliveries."
    )
    last_tick_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "schedule"
        constraints = [
            models.CheckConstraint(condition=Q(default_send_hour__lte=23), name="schedule_send_hour_range"),
            models.CheckConstraint(condition=Q(weekly_day__lte=6), name="schedule_weekly_day_range"),
        ]

    def __str__(self):
        return "schedule" + (" (paused)" if self.paused else "")
