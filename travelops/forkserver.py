"""The fork server's process classes, safe to ask for a child's exit code from several threads.

Kept to the standard library: each child unpickles its process object, importing this module.
"""

from __future__ import annotations

import multiprocessing.context
import os
import threading
from multiprocessing import forkserver, popen_forkserver
from typing import Any


class _ThreadSafePopen(popen_forkserver.Popen):
    """A fork-server child whose exit code can be asked from several threads at once.

    The fork server reports a child's exit code once, as 8 bytes on a pipe. The standard `poll`
    reads it without a lock: when two threads ask (Prefect's runner does, for each run), one
    reads the code and the other reads end-of-file, takes it for a lost fork server and records
    255 — over the real code. The runner then reported a run that had suspended normally as
    crashed (10 of ~1,500 run executions in a 500-booking hotel benchmark; the booking stalled).
    """

    def __init__(self, process_obj: Any) -> None:
        self._read_lock = threading.Lock()
        super().__init__(process_obj)

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        if self.returncode is None:
            from multiprocessing.connection import wait

            if not wait([self.sentinel], 0 if flag == os.WNOHANG else None):
                return None
            with self._read_lock:
                if self.returncode is None:
                    try:
                        self.returncode = forkserver.read_signed(self.sentinel)
                    except (OSError, EOFError):  # the fork server itself is gone
                        self.returncode = 255
        return self.returncode


class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _ThreadSafePopen:
        return _ThreadSafePopen(process_obj)


class ForkServerContext(multiprocessing.context.ForkServerContext):
    """`multiprocessing.get_context("forkserver")` with `_ThreadSafePopen` children."""

    Process = _ForkServerProcess
