"""``{% api_twin %}``: a page's ``<link rel="alternate" type="application/json">`` to the API
address answering the same question (the same filters; the API pages by cursor, not ``page``)."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

# page's URL name → the API operation's URL name (their arguments are the same)
TWINS = {
    "events": "events", "event": "event", "talk": "talk", "people": "people", "person": "person",
    "topics": "topics", "topic": "topic", "coverage": "coverage", "search": "search",
    "calendar": "my_calendar", "subscriptions": "my_subscriptions",
}


def twin_url(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name not in TWINS:
        return ""
    try:
        path = reverse(f"api-v1:{TWINS[match.url_name]}", kwargs=_arguments(match))
    except NoReverseMatch:
        return ""
    query = request.GET.copy()
    query.pop("page", None)
    return path + ("?" + query.urlencode() if query else "")


def _arguments(match) -> dict:
    names = {"slug": "slug", "handle": "handle", "talk_id": "talk_id"}
    return {names[k]: v for k, v in match.kwargs.items() if k in names}


@register.simple_tag(takes_context=True)
def api_twin(context) -> str:
    request = context.get("request")
    url = twin_url(request) if request is not None else ""
    return format_html('<link rel="alternate" type="application/json" href="{}">', url) if url else ""
