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
"""

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ._files import fsync_dir, hostname, pid_alive
from ._layout import STAGING

_FOREIGN_AFTER_S = 24 * 3600.0


def _encode(group: str) -> str:
    return group.replace("/", "~")


def _entry(root: Path, group: str, kind: str) -> Path:
    tag = f"{_encode(group)}+{uuid.uuid4().hex[:12]}+{hostname()}+{os.getpid()}+{kind}"
    return root / STAGING / tag


def _parse(entry: Path) -> tuple[str, str, int, str] | None:
    parts = entry.name.split("+")
    if len(parts) != 5 or not parts[3].isdigit():
        return None
    return parts[0].replace("~", "/"), parts[2], int(parts[3]), parts[4]


def _abandoned(entry: Path, host: str, pid: int) -> bool:
    if pid == os.getpid() and host == hostname():
        return False
    if host == hostname():
        return not pid_alive(pid)
    try:
        return time.time() - entry.stat().st_mtime > _FOREIGN_AFTER_S
    except FileNotFoundError:
        return False


def recover_staging(root: Path) -> None:
    """Undo what a killed writer of staged groups left: restore or delete its copies."""
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


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def ensure_parent_groups(root: Path, group: str) -> None:
    """Create the zarr group metadata of every ancestor of `group` that lacks it."""
    import zarr

    parts = group.split("/")[:-1]
    for i in range(len(parts)):
        parent = "/".join(parts[: i + 1])
        if not (root / parent / "zarr.json").exists():
            zarr.open_group(str(root), path=parent, mode="a", zarr_format=3)


def swap_in(root: Path, group: str, write: Callable[[Path], None]) -> None:
    """Write a complete group with `write(staged_dir)`, then put it at `root/group`."""
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
