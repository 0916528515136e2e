from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "lanyard_site.mailing"
    label = "mailing"
    verbose_name = "Subscriptions and digests"
