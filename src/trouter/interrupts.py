"""Ctrl-C and SIGTERM unwind a process like KeyboardInterrupt, so its local servers are stopped."""

from __future__ import annotations

import signal


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def make_interruptible() -> None:
    """Call on the main thread of a process that may own local servers.

    A process started as a background job of a non-interactive shell (`cmd &` in a script, some
    CI runners and job launchers) inherits SIGINT *ignored*, and Python keeps it ignored: Ctrl-C
    or `kill -INT` would then do nothing. Restore the default handler, and let SIGTERM unwind the
    same way, so `finally` blocks and context managers stop servers and flush files."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
