"""Named crash points, for tests that kill a sweep at a chosen moment.

Set `NEURODYN_CRASH_AT=name` (or `name:k` for the k-th time that point is reached) and
the process sends itself SIGKILL there: no cleanup, no flushing, exactly like a killed
job. Without the variable every call is a no-op.
"""

import os
import signal

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    target = os.environ.get("NEURODYN_CRASH_AT")
    if not target:
        return
    point, _, count = target.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
