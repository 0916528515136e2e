"""lanyard's Django-free core: the stores, the graph, the nightly digest, delivery, search.

It imports nothing of ``site/``, ``scheduler/``, ``unsubscribe_web/`` or ``lanyard_cli/``
and never Django (a test over the import graph checks), so a digest worker and the
unsubscribe endpoint start without them. ``digest.vocabulary`` is the bottom layer.
"""
