from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lanyard_site import converters
from lanyard_site.mailing import views as mailing
from lanyard_site.ops import views as ops

converters.register()

# /u/ and /r/ (the links in the emails) are served by unsubscribe_web, not here; /healthz
# and /readyz by lanyard_site.ops.middleware.HealthMiddleware, before any other middleware.
urlpatterns = [
    path("api/", include("lanyard_site.api.urls")),  # the JSON API (lanyard_site.api)
    path("", include("lanyard_site.personal.urls")),  # the signed-in pages; first, so /calendar/ is theirs
    path("", include("lanyard_site.social.urls")),  # sign in with GitHub or Mastodon, connected accounts
    path("", include("lanyard_site.events.urls")),  # the browsing pages, robots.txt, old slugs' 301s
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
]
