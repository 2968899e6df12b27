"""Small files written atomically: markers, locks, checkpoints, staged directories.

zarr 3.1's `LocalStore` already writes every key (chunks and metadata) through a
temporary `<key>.<uuid>.partial` file and `Path.replace`, so a reader never sees half a
chunk. It does not fsync, and a process killed mid-write leaves the `.partial` file
behind (harmless: nothing reads it). Our own files follow the same rule: write a
temporary file in the same directory, flush and fsync it, `os.replace` it onto the
target, fsync the directory.

A store behind an fsspec URL hands these helpers a `RemotePath` instead of a `Path`;
they then follow the rules of `_remote.py` (one whole-object write on object stores,
a temporary key moved into place and verified elsewhere). Local paths take exactly the
`os` route above.
"""

import datetime
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from . import _remote
from ._remote import RemotePath

PARTIAL = ".partial"


def temp_name(path: Path) -> Path:
    """A unique sibling of `path` for writing before the atomic rename."""
    return path.with_name(f"{path.name}.{uuid.uuid4().hex}{PARTIAL}")


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(path: Path, data: bytes) -> Path:
    """Write `data` into a fresh temporary sibling of `path`, fsynced; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def atomic_write_bytes(path: Path | RemotePath, data: bytes) -> None:
    """Replace `path` by `data` so that readers see the old or the new file, never a mix."""
    if isinstance(path, RemotePath):
        _remote.write_bytes(path, data)
        return
    tmp = write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def dumps(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode()


def atomic_write_json(path: Path | RemotePath, value: Any) -> None:
    atomic_write_bytes(path, dumps(value))


def read_bytes(path: Path | RemotePath) -> bytes:
    if isinstance(path, RemotePath):
        return path.read_bytes()
    with open(path, "rb") as f:
        return f.read()


def read_json(path: Path | RemotePath) -> Any:
    return json.loads(read_bytes(path))


def exists(path: Path | RemotePath) -> bool:
    """Whether anything (a file, a directory, a dangling link) is at `path`."""
    if isinstance(path, RemotePath):
        return path.exists()
    return os.path.lexists(path)


def rmtree(path: Path | RemotePath) -> None:
    """Delete a directory tree; nothing if it is absent."""
    if isinstance(path, RemotePath):
        _remote.rmtree(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def remove_partials(directory: Path | RemotePath, *, older_than_s: float = 0.0) -> None:
    """Delete `*.partial` files a killed writer left in `directory`."""
    if isinstance(directory, RemotePath) and directory.object_store:
        return  # whole-object writes leave no temporary files there
    if not directory.is_dir():
        return
    now = time.time()
    for p in directory.iterdir():
        if p.name.endswith(PARTIAL) and p.is_file():
            try:
                if now - p.stat().st_mtime >= older_than_s:
                    p.unlink()
            except FileNotFoundError:
                pass


def hostname() -> str:
    return socket.gethostname()


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (zombies count as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def owner() -> dict[str, Any]:
    """Who is writing: host, pid and time, recorded in markers and locks."""
    return {"host": hostname(), "pid": os.getpid(), "time": now_iso()}
