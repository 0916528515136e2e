"""The API's browsable docs in a real browser (Debian's Chromium, Playwright): Swagger UI
loads from the site's own static files and draws every operation, with not one
Content-Security-Policy violation and no request leaving the site."""

from __future__ import annotations

import os

import pytest

from tests.site.test_browser import CHROMIUM, browser  # noqa: F401 -- the fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: .ci/services installs it"),
]


def test_the_docs_render_under_the_csp_from_local_assets(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(60_000)  # a loaded machine; every wait is for a condition
    violations, elsewhere = [], []
    tab.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    tab.on("request", lambda r: not r.url.startswith(live_server.url) and not r.url.startswith("data:")
           and elsewhere.append(r.url))
    tab.goto("/api/v1/docs/")
    tab.wait_for_selector("#operations-catalogue-events")  # drawn from /api/v1/openapi.json
    assert tab.locator(".opblock").count() >= 14
    tab.click("#operations-catalogue-events .opblock-summary")  # opens an operation
    tab.wait_for_selector("#operations-catalogue-events .opblock-body")
    context.close()
    assert violations == [] and elsewhere == []
