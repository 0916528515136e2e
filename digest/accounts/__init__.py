"""People's accounts on GitHub, Mastodon and Bluesky, and the follow lists imported from them.

Who owns what:

- The tables (``account``, ``account_following``, the imported rows of ``follow``) are
  Django's schema (``lanyard_site.accounts``, ``lanyard_site.events.Follow``) and this
  package's rows: only its services write them (``links.py``: link and unlink;
  ``imports.py``: import and refresh). Manual follows (``source=manual``) are the site's
  and are never touched here.
- The Redis graph is a copy, edited after each commit (``follows.py`` builds the edits;
  ``digest.graph.store`` applies them); a pair leaves it only when no source remains.
- Every request to another network goes through the one guarded client
  (``digest.http``), by the providers' clients: ``github.py``, ``mastodon.py``,
  ``bluesky.py`` over ``api.py`` (JSON, status codes, Link headers, rate limits).
"""
