from django.contrib import admin
from django.db import models

from .models import Attendance, Coverage, Event, Follow, Person, Session, Topic
from .services.coverage import coverage_refetch


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "handle", "timezone"]
    search_fields = ["name", "handle"]
    raw_id_fields = ["user"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    list_select_related = ["follower", "followee"]
    raw_id_fields = ["follower", "followee"]
    search_fields = ["follower__handle", "followee__handle"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class SessionInline(admin.TabularInline):
    model = Session
    fields = ["title", "starts_at"]
    extra = 0
    show_change_link = True


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "start_date", "end_date", "city", "country"]
    list_filter = ["country", "topics"]
    date_hierarchy = "start_date"
    search_fields = ["name", "city", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["topics"]
    readonly_fields = ["cache_version"]
    inlines = [SessionInline]
    actions = ["touch_events"]

    @admin.action(description="Invalidate cached pages (bump cache_version)")
    def touch_events(self, request, queryset):
        count = queryset.touch()
        self.message_user(request, f"Invalidated {count} events.")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["title", "event", "starts_at"]
    list_select_related = ["event"]
    raw_id_fields = ["event", "speakers"]
    search_fields = ["title", "event__name"]


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["person", "event", "role", "created_at"]
    list_select_related = ["person", "event"]
    list_filter = ["role"]
    raw_id_fields = ["person", "event"]


@admin.register(Coverage)
class CoverageAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "provider", "event", "session", "fetched_at"]
    list_filter = ["kind", "status", "provider"]
    search_fields = ["title", "url"]
    # A session's name shows its event's: without these joins each row cost three queries.
    list_select_related = ["event", "session__event"]
    raw_id_fields = ["event", "session", "added_by"]
    # What the fetch task found: shown, not typed in (an embed id is checked against its provider).
    readonly_fields = [
        "status",
        "failure",
        "provider",
        "embed_id",
        "thumbnail_url",
        "etag",
        "last_modified",
        "fetched_at",
    ]
    actions = ["fetch_again"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a link typed without one is https

    @admin.action(description="Fetch the selected links again")
    def fetch_again(self, request, queryset):
        count = coverage_refetch(coverage_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} links will be fetched again.")
