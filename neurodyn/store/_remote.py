"""Stores behind an fsspec URL (`s3://…`, `gs://…`, `memory://…`): the path object and the
few whole-tree operations the store needs there.

A local store is a `pathlib.Path` and every operation on it is the plain `os` one (see
`_files.py`). A remote store is a `RemotePath`: the same small part of the `Path` API
(`/`, `name`, `parent`, `with_name`, `is_file`, `is_dir`, `iterdir`, `glob`, `unlink`,
`stat`...) answered by an fsspec filesystem. `str(path)` is the full URL, which zarr and
xarray open with their fsspec-backed store (`zarr.storage.FsspecStore`). A `RemotePath`
has no `__fspath__`, so a local-only operation given one fails loudly instead of writing
a local file named like the URL.

Credentials and other storage options come from fsspec's configuration, which every
fsspec filesystem reads when it is created: `FSSPEC_<PROTOCOL>_<OPTION>` environment
variables (e.g. `FSSPEC_S3_ENDPOINT_URL`), or JSON/INI files in `~/.config/fsspec/`, on
top of each backend's own defaults (AWS environment variables and profiles for s3fs,
application-default credentials for gcsfs, ...).

The rules on a remote filesystem, where there is no atomic rename of a directory and not
always one of a file:

- **Small files** (done markers, lock heartbeats, job reports) **and checkpoints** are
  written whole by one `pipe_file` call on object stores (`OBJECT_STORES`: S3, GCS, Azure,
  memory), which publish an object only when its upload has completed, so a reader sees
  the old content or the new, never a mix. On other filesystems (e.g. `sftp`) they are
  written to a temporary sibling `<name>.<uuid>.partial`, moved onto the target (a
  rename where the filesystem has one; where that rename refuses an existing target,
  the target is deleted first) and verified by size.
- **Lock files** are created with fsspec's exclusive write (`pipe_file(mode="create")`,
  a conditional PUT on S3, GCS and Azure), then read back: a lock is ours only if it
  holds our token. Where a backend implements the exclusive mode as check-then-write,
  two writers starting within one round trip could both succeed; the read-back catches
  the common case (the last writer wins, the other sees a foreign token and backs off).
- **Whole groups** (the members table, analysis results) are written complete into
  `_staging/` first, then published: the target's `zarr.json` is deleted, the rest of the
  old group removed, the new objects copied in and the group's `zarr.json` copied last.
  A reader sees no group (and retries, as `read_members` does) or a whole one; a writer
  killed while publishing is finished by the next `open_store(mode="a")`, from the
  complete staged copy.
- **A new store** is built in place, the root `zarr.json` with its "neurodyn" attributes
  written last, under a marker `.neurodyn-creating`: until the attributes exist it is not
  a neurodyn store, and a creation that was interrupted is replaced by `--overwrite`.
"""

import fnmatch
import time
import types
import uuid
from pathlib import PurePosixPath
from typing import Any

import equinox as eqx

#: protocols whose single-object writes are atomic (all or nothing) and that have no
#: real directories (no mkdir needed before a write).
OBJECT_STORES = frozenset(
    {"memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "r2"}
)
PARTIAL = ".partial"


class RemotePath(eqx.Module):
    """A file or directory in a store behind an fsspec URL; see the module docstring.

    **Fields:**

    - `fs`: the fsspec filesystem instance.
    - `path`: the path within it, without protocol and without a trailing "/".
    """

    fs: Any
    path: str

    # -- pure path arithmetic ----------------------------------------------------------
    def __truediv__(self, other: str) -> "RemotePath":
        return RemotePath(self.fs, f"{self.path}/{other}")

    def __str__(self) -> str:
        return self.fs.unstrip_protocol(self.path)

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RemotePath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: "RemotePath") -> bool:
        return self.path < other.path

    @property
    def protocol(self) -> str:
        proto = self.fs.protocol
        return proto[0] if isinstance(proto, (tuple, list)) else proto

    @property
    def object_store(self) -> bool:
        return self.protocol in OBJECT_STORES

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> "RemotePath":
        head = self.path.rsplit("/", 1)[0] if "/" in self.path else ""
        return RemotePath(self.fs, head)

    def with_name(self, name: str) -> "RemotePath":
        return self.parent / name

    def relative_to(self, other: "RemotePath") -> PurePosixPath:
        prefix = other.path.rstrip("/") + "/"
        if not self.path.startswith(prefix):
            raise ValueError(f"{str(self)!r} is not under {str(other)!r}.")
        return PurePosixPath(self.path[len(prefix) :])

    # -- queries -------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.fs.exists(self.path))

    def is_file(self) -> bool:
        return bool(self.fs.isfile(self.path))

    def is_dir(self) -> bool:
        return bool(self.fs.isdir(self.path))

    def iterdir(self) -> list["RemotePath"]:
        try:
            names = self.fs.ls(self.path, detail=False)
        except FileNotFoundError:
            return []
        own = self.fs._strip_protocol(self.path).rstrip("/")
        out = []
        for name in names:
            name = self.fs._strip_protocol(name).rstrip("/")
            if name != own:
                out.append(self / name.rsplit("/", 1)[-1])
        return sorted(out)

    def glob(self, pattern: str) -> list["RemotePath"]:
        return [p for p in self.iterdir() if fnmatch.fnmatch(p.name, pattern)]

    def rglob(self, pattern: str) -> list["RemotePath"]:
        try:
            found = self.fs.find(self.path)
        except FileNotFoundError:
            return []
        base = self.fs._strip_protocol(self.path).rstrip("/") + "/"
        out = []
        for name in found:
            rel = self.fs._strip_protocol(name)[len(base) :]
            if rel and fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern):
                out.append(self / rel)
        return sorted(out)

    def stat(self) -> types.SimpleNamespace:
        """`st_mtime` (seconds since the epoch) and `st_size`; a directory's time is
        that of the newest file under it."""
        if self.fs.isdir(self.path):
            files = self.fs.find(self.path)
            times = [mtime(self.fs, f) for f in files]
            return types.SimpleNamespace(st_mtime=max(times, default=time.time()), st_size=0)
        return types.SimpleNamespace(
            st_mtime=mtime(self.fs, self.path), st_size=int(self.fs.size(self.path))
        )

    # -- changes -------------------------------------------------------------------------
    def mkdir(self, parents: bool = True, exist_ok: bool = True) -> None:
        """Create the directory where the filesystem has directories (not on object
        stores, where a "directory" is a key prefix and exists once a key is under it)."""
        if not self.object_store:
            self.fs.makedirs(self.path, exist_ok=True)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)


def mtime(fs, path: str) -> float:
    """Last-modified time of a remote file in seconds since the epoch."""
    try:
        return fs.modified(path).timestamp()
    except (NotImplementedError, AttributeError, IsADirectoryError):
        pass
    info = fs.info(path)
    for key in ("mtime", "LastModified", "last_modified", "updated", "created", "modified"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        try:
            import datetime

            return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return time.time()


def write_bytes(path: RemotePath, data: bytes) -> None:
    """Replace a remote file by `data`: readers see the old or the new content (one PUT on
    object stores; elsewhere a temporary sibling moved onto the target, then its size
    checked)."""
    if path.object_store:
        path.fs.pipe_file(path.path, data)
        return
    path.parent.mkdir()
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}{PARTIAL}")
    path.fs.pipe_file(tmp.path, data)
    try:
        try:
            path.fs.mv(tmp.path, path.path)
        except OSError:
            # e.g. SFTP v3, whose rename refuses an existing target: replace it
            if not path.fs.exists(path.path):
                raise
            path.fs.rm_file(path.path)
            path.fs.mv(tmp.path, path.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    size = int(path.fs.size(path.path))
    if size != len(data):
        raise OSError(
            f"Writing {str(path)!r} left {size} bytes instead of {len(data)}: the "
            "filesystem did not move the temporary file into place whole."
        )


def create_exclusive(path: RemotePath, data: bytes) -> None:
    """Create `path` holding `data` only if it does not exist (FileExistsError if it does,
    or if another writer's content is found on reading it back)."""
    path.parent.mkdir()
    path.fs.pipe_file(path.path, data, mode="create")
    try:
        back = path.fs.cat_file(path.path)
    except FileNotFoundError:
        raise FileExistsError(str(path)) from None
    if back != data:
        raise FileExistsError(str(path))


def rmtree(path: RemotePath) -> None:
    """Delete a remote directory and everything under it (nothing if it is absent)."""
    try:
        if path.fs.exists(path.path):
            path.fs.rm(path.path, recursive=True)
    except FileNotFoundError:
        pass


def publish(staged: RemotePath, target: RemotePath) -> None:
    """Put the complete zarr group `staged` at `target`, its `zarr.json` last.

    The target's `zarr.json` goes first, so a reader of the old group fails (and retries)
    instead of mixing old and new chunks.
    """
    fs = staged.fs
    (target / "zarr.json").unlink(missing_ok=True)
    rmtree(target)
    base = fs._strip_protocol(staged.path).rstrip("/") + "/"
    rels = [fs._strip_protocol(f)[len(base) :] for f in fs.find(staged.path)]
    body = [r for r in rels if r and r != "zarr.json"]
    if not body and "zarr.json" not in rels:
        raise FileNotFoundError(f"Nothing staged at {str(staged)!r} to publish.")
    target.mkdir()
    if not target.object_store:
        for parent in sorted({r.rsplit("/", 1)[0] for r in body if "/" in r}):
            (target / parent).mkdir()
    if body:
        fs.copy([f"{staged.path}/{r}" for r in body], [f"{target.path}/{r}" for r in body])
    fs.copy(f"{staged.path}/zarr.json", f"{target.path}/zarr.json")
