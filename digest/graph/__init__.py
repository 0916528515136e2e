"""The social graph in Redis: the store (reads, edits) and its sync with the database."""
