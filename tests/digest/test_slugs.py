"""digest.slugs: one spelling per slug, ASCII from any script, unique by id."""

import re

import pytest

from digest.slugs import FALLBACK, SLUG_PATTERN, is_slug, make_slug, slug_words

NAMES = [
    "PostgreSQL Forum São Paulo 2027", "Zoë Ünal-Łukasiewicz", "Дмитрий Иванов", "李娜", "محمد حداد",
    "さくら 田中", "민준 김", "प्रिया शर्मा", "אורי כהן", "Νίκος Παπαδόπουλος", "C++ & C# Days", "🎉🎉",
    "  --under_score--  ", "UPPER case", "a" * 500, "Nguyễn Trần", "", "!!!",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_makes_a_slug_the_url_pattern_accepts(name):
    slug = make_slug(name, 129, max_length=64)
    assert is_slug(slug) and re.fullmatch(SLUG_PATTERN, slug)
    assert slug.isascii() and len(slug) <= 64 and slug.endswith("-129")
    words = slug_words(name, max_length=100)
    assert is_slug(words) and len(words) <= 100


def test_transliterates_rather_than_drops():
    assert make_slug("PostgreSQL Forum São Paulo 2027", 129) == "postgresql-forum-sao-paulo-2027-129"
    assert slug_words("Дмитрий Иванов") == "dmitriy-ivanov"
    assert slug_words("C++") == "c-plus-plus" and slug_words("C#") == "c-sharp"
    assert slug_words("🎉") == "tada" and slug_words("!!!") == FALLBACK


def test_the_id_makes_it_unique_and_is_never_cut():
    assert make_slug("Same Name", 1) != make_slug("Same Name", 2)
    long = make_slug("word " * 100, 123456789, max_length=30)
    assert long.endswith("-123456789") and len(long) <= 30 and is_slug(long)


@pytest.mark.parametrize("value", ["", "-a", "a-", "a--b", "A", "a_b", "são", "a b", "a/b", "a\x00"])
def test_is_slug_refuses_other_spellings(value):
    assert not is_slug(value)


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_slug("x", -1)
    with pytest.raises(ValueError):
        make_slug("x", 12345, max_length=5)
