"""Static files as the talk did them: content-hashed names (ManifestStaticFilesStorage)
served by WhiteNoise with a year's expiry, since a changed file gets a new name."""

from __future__ import annotations

from whitenoise.middleware import WhiteNoiseMiddleware

ONE_YEAR = 365 * 24 * 60 * 60


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, with ``Cache-Control: public, max-age=31536000, immutable`` on hashed names."""

    FOREVER = ONE_YEAR

    def add_cache_headers(self, headers, path, url) -> None:
        if self.immutable_file_test(path, url):
            headers["Cache-Control"] = f"public, max-age={self.FOREVER}, immutable"
        else:
            super().add_cache_headers(headers, path, url)
