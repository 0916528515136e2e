"""The signed-in person's subscriptions, with a button to leave or rejoin each."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import router
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..events.selectors.people import person_of
from .models import Subscription
from .selectors import subscription_of, subscriptions_of
from .services import ChangeRefused, subscription_resubscribe_on_site, subscription_unsubscribe_on_site

CHANGES = {"unsubscribe": subscription_unsubscribe_on_site, "resubscribe": subscription_resubscribe_on_site}


@login_required
@require_http_methods(["GET", "HEAD"])
def subscriptions(request):
    person = person_of(request.user)
    return render(request, "mailing/subscriptions.html", {
        "person": person,
        "subscriptions": subscriptions_of(person) if person else [],
    })


@login_required
@require_POST
def subscription_change(request, subscription_id: int, action: str):
    person = person_of(request.user)
    if person is None or action not in CHANGES:
        raise Http404("no such subscription")
    subscription = subscription_of(person, subscription_id)
    try:
        changed = CHANGES[action](subscription_id=subscription.pk, alias=router.db_for_write(Subscription))
    except ChangeRefused as refused:
        messages.error(request, str(refused))
        return redirect("subscriptions")
    done = "Unsubscribed" if action == "unsubscribe" else "Resubscribed"
    messages.success(request, f"{done}: {subscription.get_list_display()} to {subscription.email}." if changed
                     else f"Nothing to change: {subscription.get_list_display()} was already so.")
    return redirect("subscriptions")
