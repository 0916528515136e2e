from django import forms
from django.contrib import admin, messages

from .models import Delivery, DeliveryFeedback, DigestChunk, DigestRun, Schedule, Subscription, UnsubscribeEvent


class UnsubscribeEventInline(admin.TabularInline):
    model = UnsubscribeEvent
    fields = ["action", "via", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class FeedbackInline(admin.TabularInline):
    """Bounce and complaint reports and the decision taken on each (digest/bounces/)."""

    model = DeliveryFeedback
    fields = ["received_at", "kind", "status_code", "decision", "detail", "matched_by", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class SubscriptionFeedbackInline(FeedbackInline):
    fk_name = "subscription"


class DeliveryFeedbackInline(FeedbackInline):
    fk_name = "delivery"


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "person", "list", "status", "send_hour", "last_sent_date"]
    list_filter = ["list", "status"]
    search_fields = ["email", "person__handle"]
    raw_id_fields = ["person"]
    inlines = [UnsubscribeEventInline, SubscriptionFeedbackInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The ledger, read-only: the pipeline and bounce processing write it."""

    list_display = [
        "id",
        "subscription",
        "digest_date",
        "status",
        "feedback",
        "attempts",
        "sent_at",
        "feedback_at",
        "run",
    ]
    list_filter = ["status", "feedback", "digest_date"]
    search_fields = ["subscription__email", "message_id"]
    list_select_related = ["subscription"]
    inlines = [DeliveryFeedbackInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DeliveryFeedback)
class DeliveryFeedbackAdmin(admin.ModelAdmin):
    """Every bounce and complaint report recorded, with what it changed."""

    list_display = [
        "received_at",
        "kind",
        "status_code",
        "decision",
        "subscription",
        "delivery",
        "matched_by",
        "source",
        "detail",
    ]
    list_filter = ["kind", "decision", "matched_by", "source"]
    search_fields = ["subscription__email", "diagnostic", "fingerprint"]
    date_hierarchy = "received_at"
    list_select_related = ["subscription", "delivery"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in DeliveryFeedback._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)


def _run_action(label: str, service: str, *, needs_enqueue: bool = True):
    """An admin action calling a run control of scheduler/runs.py on each selected run."""

    def action(modeladmin, request, queryset):
        from scheduler import runs  # noqa: PLC0415 -- the scheduler loads when an operator acts, not per request

        from ..stores import engine, scheduler_enqueue  # noqa: PLC0415 -- with the scheduler, above

        done = []
        for run_id in queryset.values_list("pk", flat=True):
            args = (engine(), scheduler_enqueue()) if needs_enqueue else (engine(),)
            try:
                getattr(runs, service)(*args, run_id=run_id)
            except runs.RunControlError as error:
                modeladmin.message_user(request, str(error), messages.WARNING)
            else:
                done.append(str(run_id))
        if done:
            modeladmin.message_user(request, f"{label}: run {', '.join(done)}", messages.SUCCESS)

    action.__name__ = service
    return admin.action(description=f"{label} the selected runs")(action)


class DigestChunkInline(admin.TabularInline):
    model = DigestChunk
    fields = [
        "number",
        "size",
        "status",
        "attempts",
        "sent",
        "skipped",
        "failed",
        "bounced",
        "last_error",
        "finished_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(DigestRun)
class DigestRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "list",
        "digest_date",
        "status",
        "planned",
        "sent",
        "skipped",
        "failed",
        "chunks_done",
        "chunks_total",
        "created_at",
    ]
    list_filter = ["status", "list"]
    date_hierarchy = "digest_date"
    readonly_fields = ["timings", "created_at", "started_at", "finished_at"]
    inlines = [DigestChunkInline]
    actions = [
        _run_action("Pause", "run_pause", needs_enqueue=False),
        _run_action("Resume", "run_resume"),
        _run_action("Cancel", "run_cancel"),
        _run_action("Retry failed deliveries of", "run_retry_failed"),
    ]


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = "__all__"

    def clean(self):
        # The same checks as `lanyard schedule set` (scheduler/runtime.py).
        from scheduler.runtime import EDITABLE, ScheduleError, parse_value  # noqa: PLC0415 -- as in action()

        cleaned = super().clean()
        for name in EDITABLE:
            if name in cleaned and cleaned[name] is not None:
                try:
                    value = parse_value(name, cleaned[name])
                except ScheduleError as error:
                    self.add_error(name, str(error))
                else:
                    cleaned[name] = ",".join(value) if name == "lists" else value
        return cleaned


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    """The runtime schedule: one row; changes apply at the next beat tick."""

    form = ScheduleForm
    list_display = ["__str__", "paused", "tick_seconds", "default_send_hour", "lists", "rate_limit", "updated_at"]
    readonly_fields = ["last_tick_at", "updated_at"]

    def has_add_permission(self, request):
        return not Schedule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from scheduler.runtime import SCHEDULE_ID  # noqa: PLC0415 -- as in action()

        obj.pk = SCHEDULE_ID  # the one row every tick reads
        super().save_model(request, obj, form, change)
