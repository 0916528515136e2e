"""The core's StrEnums of bounce processing name exactly the site's choices."""

import django

from digest.bounces.values import Decision, FeedbackKind, MatchedBy
from digest.subscriptions import VIAS


def test_the_core_and_the_site_agree_on_the_vocabulary():
    django.setup()
    from lanyard_site.mailing.models import Delivery, DeliveryFeedback, UnsubscribeEvent

    assert {k.value for k in FeedbackKind} == set(DeliveryFeedback.Kind.values)
    assert {k.value for k in FeedbackKind} | {""} == set(Delivery.Feedback.values)
    assert {d.value for d in Decision} == set(DeliveryFeedback.Decision.values)
    assert {m.value for m in MatchedBy} == set(DeliveryFeedback.MatchedBy.values)
    assert set(VIAS) == set(UnsubscribeEvent.Via.values)
