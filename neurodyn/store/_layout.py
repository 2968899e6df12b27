"""Where everything lives inside a store directory, and the names allowed there.

A store `run.zarr` is a zarr v3 group:

```
run.zarr/
  zarr.json                      root attributes: {"neurodyn": {version, schema_version, ...}}
  members/                       the members table (dim `member`), rewritten whole by the coordinator
  groups/<group>/                one Dataset per group, created at full size, one member per chunk
  analyses/<name>/               analysis results, replaced whole
  _regions/<group>/<region>.done done markers (JSON), written last; resume trusts only them
  _locks/<group>/<region>.lock   region locks (JSON: host, pid, started, heartbeat)
  _locks/coordinator.lock        the lock of the process writing members and root attributes
  _checkpoints/<group>/<region>/ training-state checkpoints (one .npz, replaced atomically)
  _staging/                      complete copies waiting to be swapped in (members, analyses)
```

The underscore directories are plain files, not zarr nodes: zarr ignores them when it
reads a group by path (everything neurodyn does), and warns "not recognized as a component
of a Zarr hierarchy" only when someone walks the whole root (`xr.open_datatree`).

`group` arguments name a group under `groups/` ("g0"), or give a path from the root
when they contain a slash ("analyses/fixed_points"); bookkeeping follows the same path.

Every path goes through `store_root`, the one place that turns what a user passed into a
location: a local path or a `file://` URL becomes a `pathlib.Path` (handled with plain
`os` calls, exactly as before fsspec URLs were accepted), any other fsspec URL
(`s3://bucket/run.zarr`, `memory://tests/run.zarr`) a `RemotePath` (see `_remote.py` for
what atomicity means there). The small-file helpers of `_files.py` do the rest of the
dispatch.
"""

import os
import re
from pathlib import Path

from neurodyn._checks import closest

from ._remote import RemotePath

ROOT_ATTR = "neurodyn"
MEMBERS = "members"
GROUPS = "groups"
ANALYSES = "analyses"
REGIONS = "_regions"
LOCKS = "_locks"
CHECKPOINTS = "_checkpoints"
STAGING = "_staging"
COORDINATOR = "coordinator.lock"
MEMBER_DIM = "member"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

StorePath = str | os.PathLike | RemotePath
Root = Path | RemotePath


def store_root(path: StorePath) -> Root:
    """Where a store lives: a local `Path` for a path or a `file://` URL, a `RemotePath`
    for any other fsspec URL (`s3://…`, `gs://…`, `memory://…`).

    **Raises:** ValueError naming the path and the fix when fsspec does not know the
    protocol, or knows it but its implementation is not installed.
    """
    if isinstance(path, RemotePath):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a store path must be a string or a path, got {path!r} of type {type(path).__name__}.")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"store path {path!r} is empty; give a directory such as 'run.zarr'.")
    if "::" in text:
        raise ValueError(
            f"store path {text!r} contains '::', which zarr reads as a chain of fsspec URLs; "
            "choose a name without '::' (e.g. 'a_b.zarr')."
        )
    if "://" not in text:
        return Path(text).expanduser()
    scheme = text.split("://", 1)[0]
    if scheme == "file":
        return Path(text.split("://", 1)[1]).expanduser()
    return _remote_root(text, scheme)


def _remote_root(text: str, scheme: str) -> RemotePath:
    import fsspec

    try:
        fsspec.get_filesystem_class(scheme)
    except ValueError:
        known = sorted(fsspec.available_protocols())
        raise ValueError(
            f"Store path {text!r} uses the protocol {scheme!r}, which fsspec does not know."
            f"{closest(scheme, known)} Give a local directory such as 'run.zarr', a "
            "file:// URL, or an fsspec URL such as 's3://bucket/run.zarr' (protocols: "
            "fsspec.available_protocols())."
        ) from None
    except ImportError as e:
        raise ValueError(
            f"Store path {text!r} uses the {scheme!r} protocol, whose fsspec "
            f"implementation is not installed ({e}). Install it (e.g. `pip install s3fs` "
            "for s3://, `pip install gcsfs` for gs://), or use a local directory."
        ) from None
    from fsspec.core import url_to_fs

    fs, inner = url_to_fs(text)
    inner = inner.rstrip("/")
    if not inner.strip("/"):
        raise ValueError(
            f"Store path {text!r} names the root of its filesystem; give a store below "
            "it, e.g. 's3://bucket/run.zarr'."
        )
    return RemotePath(fs, inner)


def check_name(kind: str, name: str) -> str:
    """Validate one path component (a group, region or analysis name)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r} is not allowed: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit (e.g. 'g0' or 'members_000000-000064')."
        )
    return name


def group_path(group: str) -> str:
    """The path of a group from the store root: 'g0' -> 'groups/g0'; paths pass through."""
    if not isinstance(group, str):
        raise TypeError(f"group must be a string, got {group!r} of type {type(group).__name__}.")
    parts = group.split("/") if "/" in group else [GROUPS, group]
    for part in parts:
        check_name("group", part)
    if parts[0].startswith("_") or parts[0] == MEMBERS:
        raise ValueError(f"group {group!r} is reserved; use a name under 'groups/' or 'analyses/'.")
    return "/".join(parts)


def region_name(members: slice) -> str:
    """A region name for a member slice: slice(0, 64) -> 'members_000000-000064'."""
    return f"members_{members.start:06d}-{members.stop:06d}"


def regions_dir(root: Root, group: str) -> Root:
    return root / REGIONS / group_path(group)


def done_path(root: Root, group: str, region: str) -> Root:
    return regions_dir(root, group) / f"{check_name('region', region)}.done"


def lock_path(root: Root, group: str, region: str) -> Root:
    return root / LOCKS / group_path(group) / f"{check_name('region', region)}.lock"


def checkpoint_dir(root: Root, group: str, region: str) -> Root:
    return root / CHECKPOINTS / group_path(group) / check_name("region", region)


def list_children(root: Root, parent: str) -> list[str]:
    """Names of the zarr nodes directly under `parent` (directories holding zarr.json),
    counting a group whose writer was killed between the two renames of a swap (its last
    complete copy waits in `_staging/`, see `resolve`)."""
    base = root / parent
    found = {p.name for p in base.iterdir() if (p / "zarr.json").is_file()} if base.is_dir() else set()
    for group in _swapped_out(root):
        head, _, name = group.rpartition("/")
        if head == parent:
            found.add(name)
    return sorted(found)


def _swapped_out(root: Root) -> dict[str, Root]:
    """Groups absent from their place whose previous copy waits in `_staging/` (a swap
    interrupted between its renames), with that copy's location."""
    staging = root / STAGING
    if not staging.is_dir():
        return {}
    out = {}
    for entry in sorted(staging.iterdir()):
        parts = entry.name.split("+")
        if len(parts) != 5 or parts[4] != "old" or not (entry / "zarr.json").is_file():
            continue
        group = parts[0].replace("~", "/")
        if not (root / group / "zarr.json").is_file():
            out[group] = entry
    return out


def resolve(root: Root, path: str) -> tuple[Root, str | None]:
    """Where to read the group at `path`: `(root, path)` normally, or `(copy, None)` for
    the last complete copy of a group whose swap was interrupted (read-only: the next
    writer puts it back)."""
    if (root / path / "zarr.json").is_file():
        return root, path
    copy = _swapped_out(root).get(path)
    return (copy, None) if copy is not None else (root, path)


def unknown_group(root: Root, group: str) -> Exception:
    """The error for a group that is not in the store, naming those that are."""
    if not (root / "zarr.json").is_file():
        return FileNotFoundError(f"No neurodyn store at {str(root)!r}.")
    path = group_path(group)
    parent, _, name = path.rpartition("/")
    options = list_children(root, parent)
    return ValueError(
        f"Store {str(root)!r} has no group {path!r}; groups under {parent + '/'!r}: "
        f"{options}.{closest(name, options)}"
    )
