"""A background thread that each worker process has its own of."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class ProcessThread:
    """Starts ``target`` in a daemon thread on :meth:`ensure`, once per process: a forked
    gunicorn worker inherits the object but not the thread, so it starts its own (and
    again should the thread ever have died)."""

    def __init__(self, target: Callable[[], None], *, name: str):
        self.target = target
        self.name = name
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self.running():
            return
        with self._lock:
            if not self.running():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self.target, name=self.name, daemon=True)
                self._thread.start()

    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self.running():
            assert self._thread is not None
            self._thread.join(timeout)
