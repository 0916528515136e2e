from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lanyard_site.accounts"
    label = "accounts"
    verbose_name = "Accounts on other networks"
