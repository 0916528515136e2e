from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from lanyard_site import converters
from lanyard_site.events import paste
from lanyard_site.events import views as events
from lanyard_site.mailing import views as mailing
from lanyard_site.ops import views as ops

converters.register()

# /u/ and /r/ (the links in the emails) are served by unsubscribe_web, not here; /healthz
# and /readyz by lanyard_site.ops.middleware.HealthMiddleware, before any other middleware.
urlpatterns = [
    path("api/", include("lanyard_site.api.urls")),  # the JSON API (lanyard_site.api)
    path("", include("lanyard_site.personal.urls")),  # the signed-in pages; first, so /calendar/ is theirs
    path("", include("lanyard_site.social.urls")),  # sign in with GitHub or Mastodon, connected accounts
    path("", events.home, name="home"),
    path("events/", events.events, name="events"),
    path("events/<lslug:slug>/", events.event, name="event"),
    path("events/<lslug:slug>/attendees/", events.event_directory, {"directory": "attendees"}, name="attendees"),
    path("events/<lslug:slug>/speakers/", events.event_directory, {"directory": "speakers"}, name="speakers"),
    path("talks/<int:talk_id>/", events.talk, name="talk"),
    path("people/", events.people, name="people"),
    path("people/<lslug:handle>/", events.person, name="person"),
    path("topics/", events.topics, name="topics"),
    path("topics/<lslug:slug>/", events.topic, name="topic"),
    path("coverage/", events.coverage, name="coverage"),
    path("search/", events.search, name="search"),
    path("talks/<int:talk_id>/coverage/", paste.paste_talk, name="paste_talk"),
    path("events/<lslug:slug>/coverage/", paste.paste_event, name="paste_event"),
    path("coverage/<int:coverage_id>/remove/", paste.remove_link, name="remove_link"),
    path("subscriptions/", mailing.subscriptions, name="subscriptions"),
    path(
        "subscriptions/<int:subscription_id>/<str:action>/", mailing.subscription_change,
        name="subscription_change",
    ),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="events/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("_profile/<uuid:profile_id>/", ops.profile, name="ops_profile"),
    path("admin/ops/", admin.site.admin_view(ops.admin_ops), name="admin_ops"),
    path("admin/", admin.site.urls),
    path("robots.txt", events.robots, name="robots"),
    path("favicon.ico", events.favicon, name="favicon"),
    # Anything else in a slug's place (an old accented slug from an email already sent, a
    # capitalised one): 301 to where that row lives now, else 404. Never rendered as is.
    re_path(r"^events/(?P<slug>[^/]+)/(?P<rest>.*)$", events.moved, {"kind": "event"}),
    re_path(r"^people/(?P<slug>[^/]+)/(?P<rest>.*)$", events.moved, {"kind": "person"}),
    re_path(r"^topics/(?P<slug>[^/]+)/(?P<rest>.*)$", events.moved, {"kind": "topic"}),
]
