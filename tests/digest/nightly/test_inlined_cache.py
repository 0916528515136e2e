"""CSS-inlined templates kept on disk for the next process (digest/nightly/inlined_cache.py)."""

from __future__ import annotations

from digest.nightly.inlined_cache import entry_path, inlined
from digest.nightly.render import Renderer, inline_template_css
from tests.digest.nightly import sample_digests as samples

SOURCE = '<html><body><p class="lead">{{ name }}</p></body></html>'
CSS = ".lead { color: #123456 }"


def test_a_second_process_reads_what_the_first_inlined(tmp_path):
    calls = []

    def inline(source, css):
        calls.append(source)
        return inline_template_css(source, css)

    first = inlined(tmp_path, SOURCE, CSS, inline)
    assert 'style="color:#123456"' in first and "{{ name }}" in first
    assert inlined(tmp_path, SOURCE, CSS, inline) == first and len(calls) == 1  # read back, not inlined again
    assert inlined(tmp_path, SOURCE, ".lead { color: red }", inline) != first  # other CSS: another entry
    assert len(calls) == 2 and len(list(tmp_path.glob("email-template-*.html"))) == 2
    assert not list(tmp_path.glob(".email-template-*"))  # no temporary file left behind


def test_a_directory_that_cannot_be_written_only_means_inlining_again(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert inlined(blocked / "cache", SOURCE, CSS, inline_template_css) == inline_template_css(SOURCE, CSS)


def test_a_renderer_uses_the_kept_templates_and_renders_the_same(tmp_path):
    digest = samples.rich_digest()
    fresh = Renderer(base_url=samples.BASE, cache_dir=tmp_path).render(digest)  # digest.html, then base.html
    entries = list(tmp_path.glob("email-template-*.html"))
    assert len(entries) == 2
    again = Renderer(base_url=samples.BASE, cache_dir=tmp_path).render(digest)
    assert again == fresh == Renderer(base_url=samples.BASE).render(digest)
    (base,) = [path for path in entries if "</body>" in path.read_text()]
    base.write_text(base.read_text().replace("</body>", "<!-- kept -->\n</body>"))
    assert "<!-- kept -->" in Renderer(base_url=samples.BASE, cache_dir=tmp_path).render(digest).html  # read from disk
    assert entry_path(tmp_path, "another source", CSS) not in entries
