"""People's accounts on other networks (GitHub, Mastodon, Bluesky) and the follow lists imported from them.

The tables live here; the work on them (linking, importing, refreshing, matching by
stable id) is ``digest/accounts/``, Django-free, so the CLI and Celery workers run it
without Django. Sign-in and the connect/disconnect pages are another app's.
"""
