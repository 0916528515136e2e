"""lanyard's Django-free core, grouped by what each part is.

Bottom layer (imported by everything, importing nothing above): ``vocabulary`` (the
StrEnums of lists, statuses, roles; task names; link paths), ``values`` (plain values
passed between stages), ``clock``, ``config``, ``faults``, ``tokens``, ``links``.

* ``stores/``     the database mirror (``db``), the Redis connection, every Redis key
                  name (``keys``), the Lua scripts run inside Redis (``lua/``);
* ``graph/``      the Redis copy of who follows whom and who goes where: ``store``
                  (reads, edits), ``sync`` (rebuild, check, heal);
* ``nightly/``    the nightly digest: friend events, hydration, the pure stages
                  (select, build, render, MIME), the chunk ``pipeline``, ``batch``
                  (how the CLI and the tasks drive chunks), ``schedule`` (who is due);
* ``delivery/``   the ledger (each email once), the transports (maildir, SMTP);
* ``runs``        the run and its chunks: the one owner of their rows and states;
* ``subscriptions``, ``bounces/``  unsubscribes and resubscribes; bounce and complaint reports;
* ``search/``, ``coverage/``, ``http/``  the search index, pasted links, outgoing HTTP;
* ``demo/``       generated demo data.

It imports nothing of ``site/``, ``scheduler/``, ``unsubscribe_web/`` or ``lanyard_cli/``
and never Django (``tests/test_layers.py`` checks), so a digest worker and the
unsubscribe endpoint start without them.
"""
