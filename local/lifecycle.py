"""Child processes of the local platform end with it, even when it is killed with ``kill -9``."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies. The signal follows the *thread* that started the
    child, so use it only for children the platform's main thread starts (the emulator)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        sys.exit("the platform that started this process is gone")


def exit_with_parent(parent_pid: int, *, every_s: float = 1.0) -> None:
    """Watch the parent from a daemon thread and exit when it is gone: for pool workers, which a
    request's thread may start (a thread's end would fire PR_SET_PDEATHSIG)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
