"""Static files as the talk did them: content-hashed names (ManifestStaticFilesStorage)
served by WhiteNoise with a year's expiry, since a changed file gets a new name."""

from __future__ import annotations

from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.storage import CompressedManifestStaticFilesStorage

ONE_YEAR = 365 * 24 * 60 * 60


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, with ``Cache-Control: public, max-age=31536000, immutable`` on hashed names."""

    FOREVER = ONE_YEAR

    def add_cache_headers(self, headers, path, url) -> None:
        if self.immutable_file_test(path, url):
            headers["Cache-Control"] = f"public, max-age={self.FOREVER}, immutable"
        else:
            super().add_cache_headers(headers, path, url)


class HashedStaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage, each name's URL worked out once per process.

    The manifest is read when the process starts and a deploy starts new processes, so a
    name's hashed URL cannot change while one runs; Django works it out again (the
    manifest lookup, quoting, joining) for every ``{% static %}``: 32 µs for a page's
    three (measured in one process on the production settings). ``force`` (collectstatic's
    own use) is never kept."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False) -> str:
        if force:
            return super().url(name, force=True)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)  # a name not in the manifest raises: not kept
            return url
