from django.contrib import admin

from .models import Delivery, DigestRun, Subscription, UnsubscribeEvent


class UnsubscribeEventInline(admin.TabularInline):
    model = UnsubscribeEvent
    fields = ["action", "via", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "person", "list", "status", "send_hour", "last_sent_date"]
    list_filter = ["list", "status"]
    search_fields = ["email", "person__handle"]
    raw_id_fields = ["person"]
    inlines = [UnsubscribeEventInline]


@admin.register(DigestRun)
class DigestRunAdmin(admin.ModelAdmin):
    list_display = ["id", "list", "digest_date", "status", "planned", "sent", "skipped", "failed", "created_at"]
    list_filter = ["status", "list"]
    date_hierarchy = "digest_date"
    readonly_fields = ["timings", "created_at", "started_at", "finished_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["subscription", "digest_date", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    raw_id_fields = ["run", "subscription"]
    search_fields = ["subscription__email", "message_id"]
