"""links.py: paths reversed once per process, the same as Django's reverse() gives."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix
from django.urls.base import get_script_prefix

from lanyard_site.links import path_of, path_to


@pytest.mark.parametrize("name", ["home", "search", "events", "topics", "people", "coverage", "calendar", "login"])
def test_a_path_without_an_argument_is_what_reverse_gives(name):
    assert path_of(name) == reverse(name)


@pytest.mark.parametrize(("name", "arg"), [
    ("event", "pycon-2026"), ("person", "ada"), ("topic", "c-sharp"), ("talk", 42),
    ("speakers", "pycon-2026"), ("attendees", "pycon-2026"), ("person", "x9-2"),
])
def test_a_path_with_one_argument_is_what_reverse_gives(name, arg):
    assert path_to(name, arg) == reverse(name, args=[arg])


def test_paths_follow_the_script_prefix_they_are_asked_under():
    before = get_script_prefix()
    try:
        set_script_prefix("/lanyard/")
        assert path_of("events") == "/lanyard/events/" == reverse("events")
        assert path_to("event", "pycon") == reverse("event", args=["pycon"]) == "/lanyard/events/pycon/"
    finally:
        set_script_prefix(before)
    assert path_of("events") == "/events/"
