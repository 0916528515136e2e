from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views
from .forms import PasswordResetForm

# Included before the browsing pages, so /calendar/ is this app's.
urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/reset/", views.feed_reset, name="calendar_feed_reset"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("events/<lslug:slug>/event.ics", views.event_ics, name="event_ics"),
    path("events/<lslug:slug>/attendance/", views.attendance, name="event_attendance"),
    path("people/<lslug:handle>/follow/", views.follow, name="person_follow"),
    path("people/<lslug:handle>/unfollow/", views.unfollow, name="person_unfollow"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/tokens/", views.token_create, name="api_token_create"),
    path("accounts/profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=PasswordResetForm,
            template_name="personal/password_reset.html",
            email_template_name="personal/password_reset_email.txt",
            subject_template_name="personal/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="personal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="personal/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="personal/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]
