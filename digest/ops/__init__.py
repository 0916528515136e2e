"""Operating lanyard while it runs: the read-only switch, feature flags, live settings,
request and task profiles, logging and error reporting, health checks.

State an operator changes at run time lives in Redis (read-only, flags: rebuildable
switches) or in the database (live settings and the audit trail of every change, with a
copy in Redis for readers). A request reads all of it in one round trip
(:func:`digest.ops.snapshot.ops_snapshot`); an unreachable Redis means the declared defaults,
never an error page.
"""
