"""Replace a whole zarr group so that a reader sees the old or the new one, never a mix.

The new group is written complete into `_staging/` as a standalone zarr hierarchy, then
swapped in by two renames: the old directory moves to `_staging/` and the new one takes
its place, and only then is the old one deleted. zarr v3 metadata holds no paths, so a
group stays valid when its directory moves.

Between the two renames the group is briefly absent; `read_members` retries across that
gap and checks a generation token so that a table read during a swap is read again.
A coordinator killed between the renames leaves the old copy in `_staging/`;
`recover_staging` (run by every writer of staged groups and by `open_store(mode="a")`)
puts it back. Staged entries carry their writer's host and pid, and are cleared only when
that process is gone (or, from another host, after a day).

On a store behind an fsspec URL there is no directory rename: the staged copy is
written complete, a `+ready` marker beside it says so, and it is published by copying
(`_remote.publish`: the target's `zarr.json` removed first and written last), then
deleted. A writer killed while publishing leaves the marker; `recover_staging` publishes
the staged copy again.
"""

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from . import _remote
from ._files import atomic_write_bytes, fsync_dir, hostname, pid_alive
from ._layout import STAGING, Root
from ._remote import RemotePath

_FOREIGN_AFTER_S = 24 * 3600.0


def _encode(group: str) -> str:
    return group.replace("/", "~")


def _entry(root: Root, group: str, kind: str) -> Root:
    tag = f"{_encode(group)}+{uuid.uuid4().hex[:12]}+{hostname()}+{os.getpid()}+{kind}"
    return root / STAGING / tag


def _sibling(entry: Root, kind: str) -> Root:
    """The entry of the same swap with another kind ('new' -> 'ready')."""
    return entry.with_name(entry.name.rsplit("+", 1)[0] + "+" + kind)


def _parse(entry: Root) -> tuple[str, str, int, str] | None:
    parts = entry.name.split("+")
    if len(parts) != 5 or not parts[3].isdigit():
        return None
    return parts[0].replace("~", "/"), parts[2], int(parts[3]), parts[4]


def _abandoned(entry: Root, host: str, pid: int) -> bool:
    if pid == os.getpid() and host == hostname():
        return False
    if host == hostname():
        return not pid_alive(pid)
    try:
        return time.time() - entry.stat().st_mtime > _FOREIGN_AFTER_S
    except FileNotFoundError:
        return False


def recover_staging(root: Root) -> None:
    """Undo what a killed writer of staged groups left: restore or delete its copies."""
    if isinstance(root, RemotePath):
        _recover_remote(root)
        return
    staging = root / STAGING
    if not staging.is_dir():
        return
    for entry in sorted(staging.iterdir()):
        parsed = _parse(entry)
        if parsed is None:
            continue
        group, host, pid, kind = parsed
        if not _abandoned(entry, host, pid):
            continue
        target = root / group
        if kind == "old" and not (target / "zarr.json").exists():
            # killed between the two renames: the old copy is the last complete one
            shutil.rmtree(target, ignore_errors=True)
            os.rename(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)
    _remove_if_empty(staging)


def _recover_remote(root: RemotePath) -> None:
    staging = root / STAGING
    entries = staging.iterdir()
    ready = {e.name.rsplit("+", 1)[0] for e in entries if e.name.endswith("+ready")}
    for entry in entries:
        parsed = _parse(entry)
        if parsed is None:
            continue
        group, host, pid, kind = parsed
        if kind == "ready" or not _abandoned(entry, host, pid):
            continue
        target = root / group
        tag = entry.name.rsplit("+", 1)[0]
        complete = (kind == "new" and tag in ready) or kind == "old"
        if complete and not (target / "zarr.json").exists():
            # killed while publishing: the staged copy is the last complete one
            _remote.publish(entry, target)
        _remote.rmtree(entry)
        _sibling(entry, "ready").unlink(missing_ok=True)
    for entry in staging.iterdir():
        parsed = _parse(entry)
        if parsed is not None and parsed[3] == "ready" and not _sibling(entry, "new").exists():
            entry.unlink(missing_ok=True)


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def ensure_parent_groups(root: Root, group: str) -> None:
    """Create the zarr group metadata of every ancestor of `group` that lacks it."""
    import zarr

    parts = group.split("/")[:-1]
    for i in range(len(parts)):
        parent = "/".join(parts[: i + 1])
        if not (root / parent / "zarr.json").exists():
            zarr.open_group(str(root), path=parent, mode="a", zarr_format=3)


def swap_in(root: Root, group: str, write: Callable[[Root], None]) -> None:
    """Write a complete group with `write(staged_dir)`, then put it at `root/group`."""
    if isinstance(root, RemotePath):
        _swap_in_remote(root, group, write)
        return
    recover_staging(root)
    staged = _entry(root, group, "new")
    staged.parent.mkdir(parents=True, exist_ok=True)
    target, old = root / group, None
    try:
        write(staged)
        ensure_parent_groups(root, group)
        if target.exists():
            old = _entry(root, group, "old")
            os.rename(target, old)
        os.rename(staged, target)
        fsync_dir(target.parent)
    except BaseException:
        if old is not None and old.exists() and not target.exists():
            os.rename(old, target)
            old = None
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _remove_if_empty(root / STAGING)


def _swap_in_remote(root: RemotePath, group: str, write: Callable[[RemotePath], None]) -> None:
    recover_staging(root)
    staged = _entry(root, group, "new")
    ready = _sibling(staged, "ready")
    try:
        write(staged)
        ensure_parent_groups(root, group)
    except BaseException:
        _remote.rmtree(staged)
        raise
    # from here on the staged copy is whole and may replace the target; if publishing
    # fails, both stay for `recover_staging` (run once this process has ended)
    atomic_write_bytes(ready, b"")
    _remote.publish(staged, root / group)
    _remote.rmtree(staged)
    ready.unlink(missing_ok=True)
