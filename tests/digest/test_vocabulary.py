"""The core's vocabulary (digest/vocabulary.py) against the site's TextChoices.

Like the schema-drift test beside it: the site's models own the columns, the core
writes the same values, and these tests fail when one side gains, loses or renames a
value the other does not.
"""

from enum import StrEnum

import pytest

from digest import vocabulary as v
from digest.stores.keys import GraphKeys, GraphSuffix
from lanyard_site.accounts.models import Account
from lanyard_site.events.models import Attendance, Coverage, Follow
from lanyard_site.mailing.models import (
    Delivery,
    DeliveryFeedback,
    DigestChunk,
    DigestRun,
    Subscription,
    UnsubscribeEvent,
)

PAIRS = [
    (Subscription.List, v.DigestList),
    (Subscription.Status, v.SubscriptionStatus),
    (UnsubscribeEvent.Action, v.SubscriptionAction),
    (UnsubscribeEvent.Via, v.ChangeVia),
    (DigestRun.Status, v.RunStatus),
    (DigestChunk.Status, v.ChunkStatus),
    (Delivery.Status, v.DeliveryStatus),
    (Attendance.Role, v.Role),
    (Delivery.Feedback, v.DeliveryFeedback),
    (DeliveryFeedback.Kind, v.FeedbackKind),
    (DeliveryFeedback.Decision, v.FeedbackDecision),
    (DeliveryFeedback.MatchedBy, v.FeedbackMatch),
    (Coverage.Kind, v.CoverageKind),
    (Coverage.Status, v.CoverageStatus),
    (Follow.Source, v.FollowSource),
    (Account.Provider, v.Provider),
    (Account.VerifiedVia, v.VerifiedVia),
]


@pytest.mark.parametrize(("choices", "enum"), PAIRS, ids=lambda x: x.__qualname__)
def test_site_choices_hold_the_core_values(choices, enum):
    assert sorted(choices.values) == sorted(member.value for member in enum)
    # Same names too, so `Subscription.Status.ACTIVE` and `SubscriptionStatus.ACTIVE` agree.
    assert sorted(choices.names) == sorted(member.name for member in enum)


def test_a_member_is_its_string():
    # What lets a member go into a column, JSON or Redis unchanged and compare equal to
    # what comes back.
    assert v.RunStatus.RUNNING == "running"
    assert f"{v.DigestList.WEEKLY}" == "weekly"
    assert isinstance(v.DeliveryStatus.SENT, str) and issubclass(v.DeliveryStatus, StrEnum)


def test_derived_sets_are_members():
    assert set(v.ACTIVE_RUN_STATUSES) == {v.RunStatus.PLANNED, v.RunStatus.RUNNING, v.RunStatus.PAUSED}
    assert v.DeliveryStatus.CLAIMED not in v.FINAL_DELIVERY_STATUSES
    assert v.DeliveryStatus.FAILED not in v.FINAL_DELIVERY_STATUSES
    assert v.Role.TRACKING not in v.GRAPH_ROLES


def test_every_link_purpose_has_one_path_of_its_own():
    assert set(v.URL_PATHS) == set(v.SubscriptionAction)
    assert len(set(v.URL_PATHS.values())) == len(v.URL_PATHS)
    # The endpoint routes on the first three characters.
    assert all(len(path) == 3 and path.startswith("/") and path.endswith("/") for path in v.URL_PATHS.values())


def test_task_names_are_distinct_and_namespaced():
    assert len(set(v.TaskName)) == len(v.TaskName)
    assert all(name.startswith("lanyard.") for name in v.TaskName)


def test_graph_keys_are_base_plus_suffix():
    keys = GraphKeys("{t}:", 7)
    for name in ("follows", "attendees", "speakers", "events"):
        assert getattr(keys, name)(42) == keys.base + getattr(GraphSuffix, name)(42)
