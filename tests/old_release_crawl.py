"""Run by tests/test_old_code.py inside the previous release's tree (PYTHONPATH): its
site, through Django's test client, crawls from / and prints one line per page that
did not answer 200 or a redirect. Exit status 1 when any did, or when an error escaped."""

from __future__ import annotations

import os
import re
import sys
from collections import deque
from urllib.parse import urlsplit

import django

HREF = re.compile(r'href="(/[^"]*)"')
SKIP = ("/admin/", "/static/", "/accounts/", "/api/")


def main(limit: int) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "lanyard_site.settings"
    django.setup()
    from django.test import Client  # only after setup

    import lanyard_site

    print(f"site from {os.path.dirname(lanyard_site.__file__)}")
    client = Client(raise_request_exception=True)
    seen, queue, bad = {"/"}, deque(["/"]), []
    while queue and len(seen) <= limit:
        path = queue.popleft()
        response = client.get(path)
        if response.status_code not in (200, 301, 302, 304):
            bad.append(f"{path}: {response.status_code}")
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode()):
            link = urlsplit(href.replace("&amp;", "&"))
            target = link.path + (f"?{link.query}" if link.query else "")
            if link.path.startswith(SKIP) or target in seen:
                continue
            seen.add(target)
            queue.append(target)
    print(f"crawled {len(seen)} pages")
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
