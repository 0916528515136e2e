"""lanyard's Django-free core, in layers (bottom first; each imports only its own layer or
below; ``tests/test_layers.py`` holds the table and docs/architecture.md draws it):

1. ``vocabulary``: the StrEnums of lists, statuses, roles; task names; link paths;
2. values, names and errors: ``errors``, ``clock``, ``values``, ``stores.keys`` (every Redis
   key name), ``config``, ``tokens``, ``slugs``, ``weburls``, ``embeds``, ``sealed``,
   ``links``, ``heal``, ``faults``;
3. ``stores/`` (the database mirror, Redis, the Lua scripts, profiles of store calls) and
   ``http/`` (outgoing HTTP);
4. state kept in the stores, each with one owner: ``graph/``, ``ops/``, ``coverage/``,
   ``subscriptions``, ``delivery/`` (the ledger, the transports), ``handles``, ``demo/``;
5. ``search/`` and ``accounts/``;
6. ``runs/``: the run and its chunks, the one owner of their rows and states;
7. ``bounces/``: bounce and complaint reports;
8. ``nightly/``: the nightly digest: friend events, hydration, the pure stages, the chunk
   ``pipeline``, ``batch`` (how the CLI and the tasks drive chunks), ``run_here``.

It imports nothing of ``site/``, ``scheduler/``, ``unsubscribe_web/`` or ``lanyard_cli/``
and never Django (``tests/test_layers.py`` checks), so a digest worker and the
unsubscribe endpoint start without them.
"""
