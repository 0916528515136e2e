"""The scheduler: the Celery application that runs the digest pipeline on a schedule.

Tasks stay thin (primitive ids in, a call into :mod:`digest` out); what they decide
lives in plain functions here: the runtime schedule (:mod:`scheduler.runtime`), the
chunks of a run (:mod:`scheduler.chunks`), operator controls (:mod:`scheduler.runs`)
and the global send rate (:mod:`scheduler.throttle`).
"""
