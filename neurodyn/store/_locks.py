"""Region locks: one writer per region, with a heartbeat, and stale locks told apart.

A lock is the file `_locks/<group>/<region>.lock`, JSON `{host, pid, started, heartbeat,
token}`. It is created complete and exclusively (written to a temporary file, then
hard-linked onto the lock path, which fails if the lock exists; `O_CREAT | O_EXCL`
where hard links are not available). A daemon thread rewrites the heartbeat every
`heartbeat_s` (temporary file + `os.replace`); the lock is removed on exit.

An existing lock is *live* when its process runs on this host (`os.kill(pid, 0)`) and
its heartbeat is fresh, or, from another host, when its heartbeat is younger than
`stale_after_s`. Otherwise it is *stale* (a killed process, or a reused pid), and only
`break_lock=True` (`--break-lock`) clears it. A live lock is never broken.

Behind an fsspec URL there are no hard links: a lock is created with fsspec's exclusive
write (`pipe_file(mode="create")`, a conditional PUT on S3, GCS and Azure) and read back
to check it holds our token; heartbeats are whole-object writes; a stale lock is removed
after re-reading it unchanged (see `_remote.py` for what each backend guarantees).
"""

import contextlib
import json
import os
import threading
import time
import uuid
import warnings
from typing import Any

from . import _remote
from ._files import (
    PARTIAL,
    atomic_write_bytes,
    dumps,
    hostname,
    now_iso,
    pid_alive,
    read_bytes,
    write_temp,
)
from ._layout import COORDINATOR, LOCKS, Root, StorePath, group_path, lock_path, store_root
from ._remote import RemotePath


class RegionLockError(RuntimeError):
    """A region is locked by another writer (`LockedError`) or by a dead one (`StaleLockError`)."""


class LockedError(RegionLockError):
    """A live process holds the region's lock."""


class StaleLockError(RegionLockError):
    """A lock was left by a process that is gone; pass `--break-lock` to clear it."""


def _read(path: Root) -> tuple[dict[str, Any] | None, bytes]:
    raw = read_bytes(path)
    try:
        info = json.loads(raw)
    except ValueError:
        info = None
    return (info if isinstance(info, dict) else None), raw


def _boot_id() -> str | None:
    """This machine's boot id (Linux), which tells apart two machines of one host name."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


_BOOT = _boot_id()


def provably_dead(info: dict[str, Any] | None) -> bool:
    """Whether the lock's writer ran on this machine and is no longer running: then the
    lock is cleared without `--break-lock` (nobody else can be writing under it)."""
    if info is None or info.get("host") != hostname():
        return False
    boot = info.get("boot")
    if boot is not None and boot != _BOOT:
        return False
    try:
        pid = int(info.get("pid", -1))
    except (TypeError, ValueError):
        return False
    return pid != os.getpid() and not pid_alive(pid)


def assess(path: Root, info: dict[str, Any] | None, *, stale_after_s: float) -> tuple[bool, str]:
    """Whether an existing lock is live, and a sentence saying who holds it and why."""
    if info is None:
        age = time.time() - path.stat().st_mtime
        live = age < stale_after_s
        return live, f"an unreadable lock file (last modified {age:.0f} s ago)"
    host = info.get("host")
    try:
        pid = int(info.get("pid", -1))
        age = time.time() - float(info.get("heartbeat", 0.0))
    except (TypeError, ValueError):
        age = time.time() - path.stat().st_mtime
        return age < stale_after_s, f"a malformed lock file (last modified {age:.0f} s ago)"
    who = (
        f"process {pid} on host {host!r} (started {info.get('started')}, heartbeat {age:.0f} s ago)"
    )
    if host == hostname():
        if not pid_alive(pid):
            return False, f"{who}, which is no longer running"
        if pid != os.getpid() and age > stale_after_s:
            return False, (
                f"{who}: that pid is alive but has not refreshed the lock for over "
                f"{stale_after_s:.0f} s (a reused pid, or a hung process: check it first)"
            )
        return True, who
    if age < stale_after_s:
        return True, who
    return False, f"{who}, silent for over {stale_after_s:.0f} s"


def _create(path: Root, data: bytes) -> None:
    """Create `path` holding `data`, atomically and only if it does not exist."""
    if isinstance(path, RemotePath):
        _remote.create_exclusive(path, data)
        return
    tmp = write_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    finally:
        tmp.unlink(missing_ok=True)


def _take_away(path: Root, raw: bytes) -> bool:
    """Remove the stale lock `raw` at `path`, unless someone replaced it meanwhile."""
    if isinstance(path, RemotePath):
        try:
            if read_bytes(path) != raw:
                return False
        except FileNotFoundError:
            return True
        path.unlink(missing_ok=True)
        return True
    aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}.broken{PARTIAL}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    with open(aside, "rb") as f:
        taken = f.read()
    if taken != raw:
        # a fresh lock appeared between our look and the rename: give it back
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


class RegionLock:
    """The handle `region_lock` yields: what was written, and whether it is still ours."""

    def __init__(self, path: Root, info: dict[str, Any], heartbeat_s: float):
        self.path = path
        self.info = info
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(heartbeat_s,), name=f"neurodyn-lock:{path.name}", daemon=True
        )
        self._thread.start()

    @property
    def lost(self) -> bool:
        """True if another process broke this lock while it was held."""
        return self._lost.is_set()

    def _ours(self) -> bool:
        try:
            info, _ = _read(self.path)
        except FileNotFoundError:
            return False
        return info is not None and info.get("token") == self.info["token"]

    def _beat(self, heartbeat_s: float) -> None:
        while not self._stop.wait(heartbeat_s):
            if not self._ours():
                self._lost.set()
                return
            self.info = {**self.info, "heartbeat": time.time(), "heartbeat_iso": now_iso()}
            with contextlib.suppress(OSError):
                atomic_write_bytes(self.path, dumps(self.info))

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        if self._ours():
            self.path.unlink(missing_ok=True)
        else:
            self._lost.set()
            warnings.warn(
                f"The lock {str(self.path)!r} was broken by another process while this one "
                "held it; the region may have had two writers. Re-run it with --resume.",
                RuntimeWarning,
                stacklevel=3,
            )


def _acquire(path: Root, where: str, *, stale_after_s: float, break_lock: bool) -> dict:
    """Create the lock file at `path`, clearing a stale one if allowed; its content."""
    info = {
        "host": hostname(),
        "boot": _BOOT,
        "pid": os.getpid(),
        "started": now_iso(),
        "heartbeat": time.time(),
        "heartbeat_iso": now_iso(),
        "token": uuid.uuid4().hex,
    }
    for _ in range(5):
        try:
            _create(path, dumps(info))
            return info
        except FileExistsError:
            pass
        try:
            existing, raw = _read(path)
        except FileNotFoundError:
            continue
        live, who = assess(path, existing, stale_after_s=stale_after_s)
        if live:
            raise LockedError(
                f"{where} is being written by {who}. Wait for it to finish, or stop that "
                "process; a live lock is never broken."
            )
        if not (break_lock or provably_dead(existing)):
            raise StaleLockError(
                f"{where} has a stale lock left by {who}. If no process is writing it, "
                "run again with --break-lock (break_lock=True) to clear the lock."
            )
        _take_away(path, raw)
    raise LockedError(f"{where}: could not take the lock; other writers keep taking it.")


@contextlib.contextmanager
def _hold(path: Root, where: str, heartbeat_s: float, stale_after_s: float, break_lock: bool):
    info = _acquire(path, where, stale_after_s=stale_after_s, break_lock=break_lock)
    lock = RegionLock(path, info, heartbeat_s)
    try:
        yield lock
    finally:
        lock.release()


def region_lock(
    store_path: StorePath,
    group: str,
    region: str,
    *,
    heartbeat_s: float = 5.0,
    stale_after_s: float = 60.0,
    break_lock: bool = False,
) -> contextlib.AbstractContextManager[RegionLock]:
    """Hold the lock of one region of one group for the duration of a `with` block.

    **Arguments:**

    - `heartbeat_s`: how often a daemon thread refreshes the lock's heartbeat.
    - `stale_after_s`: a lock whose heartbeat is older than this counts as stale
      (locks of this host are judged first by whether their pid still runs).
    - `break_lock`: clear a stale lock instead of refusing (never a live one).

    **Raises:** `LockedError` when a live process holds the lock; `StaleLockError` when a
    stale lock is in the way and `break_lock` is False.
    """
    root = store_root(store_path)
    where = f"region {region!r} of group {group_path(group)!r} in {str(root)!r}"
    return _hold(lock_path(root, group, region), where, heartbeat_s, stale_after_s, break_lock)


def coordinator_lock(
    store_path: StorePath,
    *,
    heartbeat_s: float = 5.0,
    stale_after_s: float = 60.0,
    break_lock: bool = False,
) -> contextlib.AbstractContextManager[RegionLock]:
    """Hold the store's coordinator lock (`_locks/coordinator.lock`), like `region_lock`.

    The process that writes the members table and the root attributes holds it, so a
    second `neurodyn sweep --resume` on the same store is refused while the first runs.
    """
    root = store_root(store_path)
    where = f"the coordinator of {str(root)!r}"
    return _hold(root / LOCKS / COORDINATOR, where, heartbeat_s, stale_after_s, break_lock)


def live_locks(store_path: StorePath, *, stale_after_s: float = 60.0) -> list[str]:
    """Descriptions of the live locks anywhere in a store (empty when none)."""
    base = store_root(store_path) / LOCKS
    found = []
    for path in sorted(base.rglob("*.lock")) if base.is_dir() else []:
        try:
            info, _ = _read(path)
        except FileNotFoundError:
            continue
        live, who = assess(path, info, stale_after_s=stale_after_s)
        if live:
            found.append(f"{path.relative_to(base)}: {who}")
    return found
