"""Reads behind the subscriptions page."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Subscription


def subscriptions_of(person) -> QuerySet[Subscription]:
    return Subscription.objects.filter(person=person).order_by("list", "pk")


def subscription_of(person, subscription_id: int) -> Subscription:
    """One of the person's own subscriptions; Http404 for anyone else's (or none)."""
    return get_object_or_404(Subscription, pk=subscription_id, person=person)
