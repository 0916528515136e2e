from django.urls import include, path
from django.views.generic import RedirectView

from . import views

# allauth's pages live under /auth/ (GitHub's login and callback among them); its own
# sign-in and sign-up pages are sent to the site's, which people use.
urlpatterns = [
    path("accounts/connected/", views.connections, name="connections"),
    path("accounts/connected/<int:account_id>/refresh/", views.refresh, name="connection_refresh"),
    path("accounts/connected/<int:account_id>/disconnect/", views.disconnect, name="connection_disconnect"),
    path("accounts/mastodon/", views.mastodon_start, name="mastodon_start"),
    path("accounts/mastodon/callback/", views.mastodon_callback, name="mastodon_callback"),
    path("accounts/bluesky/", views.bluesky_connect, name="bluesky_connect"),
    path("auth/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("auth/signup/", RedirectView.as_view(pattern_name="signup", query_string=True)),
    path("auth/3rdparty/", RedirectView.as_view(pattern_name="connections")),
    path("auth/", include("allauth.urls")),
]
