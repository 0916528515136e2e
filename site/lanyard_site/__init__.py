"""The lanyard Django project: the browsing site, its admin, and the schema's owner."""
