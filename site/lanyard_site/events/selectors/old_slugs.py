"""Where a row named by an old or misspelt slug lives now (the 301s of renamed pages)."""

from __future__ import annotations

from digest.slugs import is_slug, slug_words

from ..models import Event, Person, SlugHistory, SlugKind, Topic, slug_length

_SLUGGED = {SlugKind.EVENT: (Event, "slug"), SlugKind.PERSON: (Person, "handle"), SlugKind.TOPIC: (Topic, "slug")}


def current_slug(kind: SlugKind, slug: str) -> str | None:
    """Where an old or misspelt slug lives now: the current slug of the row it named
    (slug history first, then the same words in slug form), or None when nothing matches."""
    if "\x00" in slug or len(slug) > 200:  # PostgreSQL refuses NUL in text; no slug is longer
        return None
    model, field_name = _SLUGGED[kind]
    target = SlugHistory.objects.filter(kind=kind, slug=slug).values_list("target_id", flat=True).first()
    if target is not None:
        return model.objects.filter(pk=target).values_list(field_name, flat=True).first()
    if is_slug(slug):
        return None  # in slug form already: it names nothing
    words = slug_words(slug, max_length=slug_length(model, field_name))
    return model.objects.filter(**{field_name: words}).values_list(field_name, flat=True).first()
