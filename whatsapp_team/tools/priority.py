"""A thread's share of the CPU: background work yields to requests."""

import os
import threading


def yield_cpu(niceness):
    """Give the calling thread a niceness of at least ``niceness`` (0 to 19).

    On Linux the niceness is the thread's own: the other threads of the
    process (an Odoo server's HTTP threads) keep theirs. Returns the
    thread's niceness now, or ``None`` when ``niceness`` is 0 or the system
    cannot tell. An unprivileged process cannot lower it again: the thread
    keeps it for the rest of its life.
    """
    if not hasattr(os, "setpriority") or niceness <= 0:
        return None
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        if current < niceness:
            os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))
        return os.getpriority(os.PRIO_PROCESS, thread)
    except OSError:
        return None
