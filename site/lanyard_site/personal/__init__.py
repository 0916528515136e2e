"""The signed-in person's site: people they follow first, their calendar and feed, their actions and account."""
