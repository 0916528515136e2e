"""Production settings: collectstatic as the deploy runs it, hashed names served by
WhiteNoise with a year's immutable expiry, and the admin working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REDIS_URL, ROOT, TEST_SECRET

CHECK = textwrap.dedent("""
    import json, re, django
    django.setup()
    from django.test import Client
    client = Client(HTTP_X_FORWARDED_PROTO="https")  # as the TLS proxy forwards it (else: redirected to https)
    login = client.get("/admin/login/")
    css = re.findall(r'href="(/static/[^"]+\\.css)"', login.content.decode())
    asset = client.get(css[0]) if css else None
    from django.contrib.staticfiles.storage import staticfiles_storage as storage
    urls = [storage.url("lanyard/site.css") for _ in range(2)]
    refused = []
    for _ in range(2):  # a name the manifest lacks is refused every time, never kept
        try:
            storage.url("lanyard/no-such.css")
        except ValueError:
            refused.append(True)
    print(json.dumps({
        "site_css": urls, "served": client.get(urls[0]).status_code, "kept": sorted(storage._urls),
        "refused": refused,
        "login": login.status_code, "css": css,
        "asset": asset.status_code if asset else None,
        "cache_control": asset.get("Cache-Control") if asset else None,
        "missing": client.get("/static/admin/css/base.css.nope").status_code,
    }))
""")


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_production_serves_hashed_static_files_and_the_admin(tmp_path):
    env = {
        **os.environ,
        "LANYARD_ENV": "production",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_DATA_DIR": str(tmp_path),
        "LANYARD_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_BASE_URL": "https://testserver",
        "DJANGO_SETTINGS_MODULE": "lanyard_site.settings",
    }
    manage = [sys.executable, "manage.py"]
    run(manage + ["migrate", "--no-input", "-v", "0"], env)
    run(manage + ["collectstatic", "--no-input", "-v", "0"], env)  # as the documented deploy does
    assert (tmp_path / "static" / "staticfiles.json").exists()
    seen = json.loads(
        run([sys.executable, "-c", CHECK], {**env, "PYTHONPATH": str(ROOT / "site")}).stdout.strip().splitlines()[-1]
    )
    assert seen["login"] == 200
    assert seen["css"] and all(path.count(".") >= 2 for path in seen["css"])  # content-hashed names
    assert seen["asset"] == 200
    assert seen["cache_control"] == "public, max-age=31536000, immutable"
    assert seen["missing"] == 404
    # Each URL worked out once per process (HashedStaticStorage), the same hashed name each time.
    assert seen["site_css"][0] == seen["site_css"][1] and seen["site_css"][0].count(".") >= 2
    assert seen["served"] == 200 and "lanyard/site.css" in seen["kept"]
    assert seen["refused"] == [True, True] and "lanyard/no-such.css" not in seen["kept"]
