"""Bringing your people: sign in with GitHub (allauth) or Mastodon (any server), connect
Mastodon and Bluesky accounts, and the page that shows what was imported.

The accounts and follow lists themselves are ``lanyard_site.accounts`` (tables) and
``digest/accounts/`` (the work on them); this app holds the sign-in flows, the tokens
they leave (sealed), each Mastodon server's registration of lanyard, and the pages.
"""
