"""The small WSGI endpoint behind the unsubscribe links in the digest emails."""
