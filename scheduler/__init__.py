"""The scheduler: the Celery application that runs the digest pipeline on a schedule.

Only Celery lives here: the app (:mod:`scheduler.app`), the tasks, the enqueue facade
(:mod:`scheduler.enqueue`), the worker context and the beat. Tasks stay thin (primitive
ids in, a call into :mod:`digest` out); the run itself (its rows, the runtime schedule,
planning, the operator controls, progress) is ``digest/runs/``.
"""
