from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from digest.ops.audit import OpsChange, ops_change_log
from digest.runs import controls
from digest.runs.runtime import EDITABLE, SCHEDULE_ID, ScheduleError, ScheduleSettingGroup, parse_value
from digest.runs.state import RunControlError
from digest.stores.keys import RedisKeys

from .. import stores
from ..ops.services import ops_engine
from .models import Delivery, DeliveryFeedback, DigestChunk, DigestRun, Schedule, Subscription, UnsubscribeEvent


class UnsubscribeEventInline(admin.TabularInline):
    model = UnsubscribeEvent
    fields = readonly_fields = ("action", "via", "created_at")
    extra = 0
    can_delete = False


class FeedbackInline(admin.TabularInline):
    """Bounce and complaint reports and the decision taken on each (digest/bounces/)."""

    model = DeliveryFeedback
    fields = readonly_fields = ("received_at", "kind", "status_code", "decision", "detail", "matched_by", "source")
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
    list_select_related = ["person"]
    list_filter = ["list", "status"]
    search_fields = ["email", "person__handle"]
    raw_id_fields = ["person"]
    inlines = [UnsubscribeEventInline, SubscriptionFeedbackInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The ledger, read-only: the pipeline and bounce processing write it; the last error of a failure shows."""

    list_display = [
        "id",
        "subscription",
        "digest_date",
        "status",
        "feedback",
        "attempts",
        "short_error",
        "sent_at",
        "feedback_at",
        "run",
    ]
    list_filter = ["status", "feedback", "digest_date"]
    search_fields = ["subscription__email", "message_id", "last_error"]
    date_hierarchy = "digest_date"
    list_select_related = ["subscription", "run"]  # both shown on every row
    show_full_result_count = False  # a count(*) of millions of ledger rows on every page is wasted work
    inlines = [DeliveryFeedbackInline]

    @admin.display(description="last error")
    def short_error(self, delivery):
        return (delivery.last_error[:120] + "…") if len(delivery.last_error) > 120 else delivery.last_error

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
    """An admin action calling a run control of digest/runs/controls.py on each selected run."""

    def action(modeladmin, request, queryset):
        # The scheduler (Celery) loads when an operator acts, not per request.
        from ..stores import engine, scheduler_enqueue  # noqa: PLC0415 -- see above

        done = []
        for run_id in queryset.values_list("pk", flat=True):
            args = (engine(), scheduler_enqueue()) if needs_enqueue else (engine(),)
            try:
                getattr(controls, service)(*args, run_id=run_id)
            except RunControlError as error:
                modeladmin.message_user(request, str(error), messages.WARNING)
            else:
                done.append(str(run_id))
        if done:
            modeladmin.message_user(request, f"{label}: run {', '.join(done)}", messages.SUCCESS)

    action.__name__ = service
    return admin.action(description=f"{label} the selected runs")(action)


def chunk_profile_links(chunk_ids) -> dict[int, str]:
    """Chunk id -> its latest profile's URL, for those profiled in the last five minutes (one MGET)."""
    ids = list(chunk_ids)
    if not ids:
        return {}
    keys = RedisKeys(settings.LANYARD.redis.prefix)
    try:
        found = stores.redis().mget([keys.chunk_profile(i) for i in ids])
    except Exception:  # Redis away: the admin still shows the run, without profile links
        return {}
    return {i: reverse("ops_profile", args=[value.decode()]) for i, value in zip(ids, found, strict=True) if value}


class DigestChunkInline(admin.TabularInline):
    model = DigestChunk
    fields = readonly_fields = (
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
        "profile",
    )
    extra = 0
    can_delete = False
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        self._profiles = chunk_profile_links(obj.chunks.values_list("pk", flat=True)) if obj else {}
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="profile")
    def profile(self, chunk):
        url = getattr(self, "_profiles", {}).get(chunk.pk)
        return format_html('<a href="{}">profile</a>', url) if url else "–"


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


@admin.register(DigestChunk)
class DigestChunkAdmin(admin.ModelAdmin):
    list_display = ["id", "run_id", "number", "status", "size", "attempts", "sent", "skipped", "failed", "bounced",
                    "short_error", "finished_at", "profile"]
    list_filter = ["status"]
    search_fields = ["=run__id", "last_error"]
    raw_id_fields = ["run"]
    readonly_fields = [f.name for f in DigestChunk._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        self._profiles = chunk_profile_links(chunk.pk for chunk in changelist.result_list)
        return changelist

    @admin.display(description="last error")
    def short_error(self, chunk):
        return (chunk.last_error[:120] + "…") if len(chunk.last_error) > 120 else chunk.last_error

    @admin.display(description="profile")
    def profile(self, chunk):
        url = getattr(self, "_profiles", {}).get(chunk.pk)
        return format_html('<a href="{}">profile</a>', url) if url else "–"


@admin.register(UnsubscribeEvent)
class UnsubscribeEventAdmin(admin.ModelAdmin):
    """The audit trail of unsubscribes and resubscribes, from every channel."""

    list_display = ["created_at", "action", "via", "email", "subscription_id"]
    list_filter = ["action", "via"]
    list_select_related = ["subscription"]
    search_fields = ["subscription__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["subscription", "action", "via", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="email", ordering="subscription__email")
    def email(self, event):
        return event.subscription.email


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = "__all__"

    def clean(self):
        # The same checks as `lanyard schedule set` (digest/runs/runtime.py).
        super().clean()
        cleaned = self.cleaned_data
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
        before = ScheduleSettingGroup().current(ops_engine())
        obj.pk = SCHEDULE_ID  # the one row every tick reads
        super().save_model(request, obj, form, change)
        after = ScheduleSettingGroup().current(ops_engine())
        for name in before:
            if before[name] != after[name]:  # audited like `lanyard ops set`
                change = OpsChange(name, before[name], after[name], request.user.get_username(), "admin")
                ops_change_log(ops_engine(), change=change)
