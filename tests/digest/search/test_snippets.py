"""Snippets: the matching words marked, around the first match, plain text parts only."""

from digest.search.snippets import snippet


def test_marks_words_and_their_forms():
    parts = snippet("Talks about Python talking and <b>markup</b>", ["talk", "python"])
    assert [text for text, marked in parts if marked] == ["Talks", "Python", "talking"]
    assert "".join(text for text, _ in parts) == "Talks about Python talking and <b>markup</b>"


def test_a_long_text_is_cut_around_the_first_match():
    text = "word " * 200 + "needle " + "word " * 200
    parts = snippet(text, ["needle"], width=100)
    joined = "".join(t for t, _ in parts)
    assert parts[0] == ("…", False) and parts[-1] == ("…", False) and ("needle", True) in parts
    assert len(joined) < 140


def test_no_query_or_no_text():
    assert snippet("", ["x"]) == []
    assert snippet("Just text", []) == [("Just text", False)]
    assert snippet("ab abc", ["ab"]) == [("ab", True), (" abc", False)]
