"""digest.embeds: only allowed providers' videos become players, rebuilt from their id."""

import pytest

from digest.embeds import FRAME_ORIGINS, embed_for


@pytest.mark.parametrize("url, src", [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?t=42", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
    ("https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871"),
    ("https://vimeo.com/channels/staffpicks/76979871", "https://player.vimeo.com/video/76979871"),
])
def test_known_providers(url, src):
    embed = embed_for(url)
    assert embed is not None and embed.src == src
    assert any(embed.src.startswith(origin + "/") for origin in FRAME_ORIGINS)


@pytest.mark.parametrize("url", [
    None, "", "javascript:alert(1)//youtube.com/watch?v=dQw4w9WgXcQ", "https://evil.example/watch?v=dQw4w9WgXcQ",
    "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=short",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ\"><script>", "https://youtu.be/%22onload%3Dx",
    "https://vimeo.com/about", "https://vimeo.com/1234567890123", "https://slides.example/deck.pdf",
    "ftp://youtube.com/watch?v=dQw4w9WgXcQ",
])
def test_anything_else_is_no_embed(url):
    assert embed_for(url) is None


def test_the_frame_origins_are_https():
    assert FRAME_ORIGINS and all(origin.startswith("https://") for origin in FRAME_ORIGINS)
