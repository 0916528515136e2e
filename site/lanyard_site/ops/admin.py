"""The audit trail and stored live settings, read-only: changes go through Operations (/admin/ops/)."""

from django.contrib import admin

from .models import LiveSetting, OpsChange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LiveSetting)
class LiveSettingAdmin(ReadOnlyAdmin):
    list_display = ["name", "value", "updated_at", "updated_by"]


@admin.register(OpsChange)
class OpsChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "name", "old_value", "new_value", "changed_by", "via"]
    list_filter = ["via", "name"]
    search_fields = ["name", "changed_by"]
    date_hierarchy = "changed_at"
