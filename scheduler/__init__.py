"""The scheduler: the Celery application that runs the digest pipeline on a schedule.

Tasks stay thin (primitive ids in, a call into :mod:`digest` out); what they decide
lives in plain functions here: the runtime schedule (:mod:`scheduler.runtime`), the
operator controls (:mod:`scheduler.runs`, over the run's owner ``digest/runs.py``) and
the global send rate (:mod:`scheduler.throttle`).
"""
