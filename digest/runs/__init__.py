"""The digest run and its chunks: the one package that writes ``digest_run`` and ``digest_chunk``.

A run's status moves only along :data:`~digest.runs.state.TRANSITIONS`, and every change
goes through :func:`~digest.runs.state.transition` (one conditional UPDATE, so two workers
or an operator racing a worker cannot both win)::

    planned ──► running ──► finished        (all chunks done, nothing in flight or retriable)
                 │  ▲  └──► failed          (a chunk failed for a reason a retry would not cure)
                 ▼  │
                paused       cancelled ◄── planned, running, paused
    finished, failed ──► running            (an operator retries the failed deliveries)

Planning writes the run row *and* its chunk rows and makes it "running" in one
transaction, so a planner that dies half-way leaves nothing behind. ``lanyard digest
run`` and the Celery tasks both go through here (see ``digest/nightly/batch.py``): each chunk
is claimed, processed and completed the same way, and a run is finished by
:func:`~digest.runs.finishing.run_finish`, which refuses while a delivery is in flight and
hands back the temporarily failed ones to go round again, until ``max_attempts``.

The delivery ledger (``digest/delivery/ledger.py``) stays the truth about each email; the run
row's counters are its totals, written when the run finishes.

The modules, bottom to top:

- ``state``: the transitions table, the run row (get, status, record, notes), the errors,
  and :class:`~digest.runs.state.RunQueue`, what services hand chunks to;
- ``chunks``: adding, claiming, completing and finding chunks;
- ``runtime``: the runtime schedule (table ``schedule``) operators change while it all runs;
- ``progress``: :class:`~digest.runs.progress.RunSummary`, where a run stands;
- ``finishing``: ending a run from the ledger's totals, or handing back what to retry;
- ``planning``: what is due, a run planned with its chunks in one transaction, and started;
- ``controls``: the operator's pause, resume, cancel and retry of the failed deliveries.

Handing work to the workers is the caller's: the services that queue take a
:class:`~digest.runs.state.RunQueue` (``scheduler.enqueue.Enqueue`` is the Celery one).
"""
