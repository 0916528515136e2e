from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def github_configured() -> bool:
    """Whether an OAuth app is configured (LANYARD_GITHUB_CLIENT_ID): else no GitHub button."""
    return bool(settings.LANYARD.accounts.github_client_id)
