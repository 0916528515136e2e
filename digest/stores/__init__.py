"""Where lanyard's data lives: the database mirror, the Redis connection, its key names
and the Lua scripts that run inside Redis."""
