"""The public read API under /api/v1/ (django-ninja): JSON twins of the browsing pages, read
through the very selectors the pages use, and the signed-in person's calendar, follows and
subscriptions for a session or a personal API token."""
