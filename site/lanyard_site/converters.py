"""URL converters accepting exactly the slugs ``digest.slugs`` makes."""

from django.urls import register_converter

from digest.slugs import SLUG_PATTERN


class SlugConverter:
    regex = SLUG_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def register() -> None:
    register_converter(SlugConverter, "lslug")
