"""Creating, opening and validating a store; its root attributes."""

import dataclasses
import errno
import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import equinox as eqx
import xarray as xr
import zarr

from neurodyn._version import SCHEMA_VERSION, __version__

from ._consolidated import consolidate
from ._encoding import jsonable
from ._files import dumps, exists, fsync_dir, hostname, now_iso, owner, pid_alive, read_json, rmtree
from ._groups import create_group, read_group
from ._integrity import damaged_regions
from ._layout import (
    ANALYSES,
    GROUPS,
    REGIONS,
    ROOT_ATTR,
    Root,
    StorePath,
    group_path,
    list_children,
    store_root,
)
from ._locks import LockedError, live_locks
from ._members import read_members, write_members
from ._regions import done_regions
from ._remote import RemotePath, create_exclusive
from ._staging import recover_staging

#: on a remote store, present while `create_store` builds it in place (see `_remote.py`)
CREATING = ".neurodyn-creating"

# Upgrades of stores written with an older schema: MIGRATIONS[v](root) turns a store of
# schema v into one of schema v + 1 in place. None needed yet (schema 1 is the first).
MIGRATIONS: dict[int, Callable[[Path], None]] = {}


def git_revision() -> str | None:
    """The commit of the neurodyn source checkout ("-dirty" when modified), or None when
    neurodyn is not running from a git checkout of itself (e.g. installed from a wheel)."""
    source = Path(__file__).resolve().parent

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(source), *args], capture_output=True, text=True, timeout=5
        )

    try:
        top = git("rev-parse", "--show-toplevel")
        # a wheel installed inside someone else's repository must not report its commit
        if top.returncode != 0 or Path(top.stdout.strip()) / "neurodyn" / "store" != source:
            return None
        rev = git("rev-parse", "HEAD").stdout.strip()
        dirty = git("diff", "--quiet", "HEAD").returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("-dirty" if dirty else "")) if rev else None


def _root_attrs(root: Root) -> dict[str, Any] | None:
    """The "neurodyn" root attribute of `root`, or None when it is not a neurodyn store."""
    meta = root / "zarr.json"
    if not meta.is_file():
        return None
    try:
        doc = read_json(meta)
    except ValueError:
        return None
    if doc.get("node_type") != "group":
        return None
    attrs = doc.get("attributes", {}).get(ROOT_ATTR)
    return attrs if isinstance(attrs, dict) else None


def _not_a_store(root: Root, why: str) -> ValueError:
    return ValueError(
        f"{str(root)!r} is not a neurodyn store ({why}). Give the path of a store written "
        "by `neurodyn sweep` (a directory such as 'run.zarr')."
    )


def create_store(
    path: StorePath,
    *,
    attrs: Mapping[str, Any],
    members: xr.Dataset,
    groups: Mapping[str, xr.Dataset],
    overwrite: bool = False,
) -> Root:
    """Create a store with its members table and every group at full size.

    **Arguments:**

    - `attrs`: JSON-able facts for the root attribute "neurodyn", at least `spec` (the
      spec as a dict) and `seeds`. `version`, `schema_version`, `created` and
      `complete=False` are always set here; `git_revision` is found unless given.
    - `members`: the members table (dim `member`), see `write_members`.
    - `groups`: one template Dataset per group name. Coordinates and variables without
      a `member` dimension are written now with their values; data variables with one
      only give dims, shape, dtype and attributes (lazy `dask` arrays cost nothing) and
      are created unwritten: NaN for floats, -1 for integers, False for booleans, ""
      for strings, one member per chunk.
    - `overwrite`: replace an existing neurodyn store (never another directory).

    The store is built in a hidden sibling directory and renamed into place, so `path`
    holds either nothing or a complete new store. Behind an fsspec URL (no directory
    rename there) it is built in place and its root attributes are written last, so it
    is not a neurodyn store until it is complete; an interrupted creation is replaced by
    `overwrite=True`. Returns the store's path (a `Path`, or a `RemotePath` for a URL).
    """
    root = store_root(path)
    _restore_replaced(root)
    if exists(root) and not _empty_directory(root):
        _check_replaceable(root, overwrite)
    neurodyn_attrs = {
        "spec": None,
        "seeds": None,
        "git_revision": git_revision() if "git_revision" not in attrs else None,
        **dict(attrs),
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "created": now_iso(),
        "complete": False,
    }
    neurodyn_attrs = jsonable(neurodyn_attrs, "attrs")
    for name in groups:
        group_path(name)
    if isinstance(root, RemotePath):
        _create_remote(root, neurodyn_attrs, members, groups, replace=exists(root))
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(root)
    building = root.with_name(f".{root.name}.creating-{hostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}")
    aside = None
    try:
        zarr.open_group(
            str(building), mode="w-", zarr_format=3, attributes={ROOT_ATTR: neurodyn_attrs}
        )
        zarr.open_group(str(building), path=GROUPS, mode="w-", zarr_format=3)
        write_members(building, members)
        for name, template in groups.items():
            create_group(building, name, template)
        if overwrite and os.path.lexists(root):
            # checked again now: the store to replace, and nothing else, moves aside
            _check_replaceable(root, overwrite)
            aside = root.with_name(f".{root.name}.replaced-{uuid.uuid4().hex[:12]}")
            os.rename(root, aside)
        _publish(building, root)
        fsync_dir(root.parent)
    except BaseException:
        if aside is not None and not os.path.lexists(root):
            os.rename(aside, root)  # creation failed: the old store stays where it was
            aside = None
        raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return root


def check_target(path: StorePath, *, overwrite: bool = False) -> Root:
    """Check, before any work, that a new store may be created at `path` (nothing there,
    an empty directory, or with `overwrite` a neurodyn store); the same errors as
    `create_store`, which checks again when it publishes."""
    root = store_root(path)
    if not isinstance(root, RemotePath) and os.path.lexists(root) and not os.path.isdir(root):
        raise FileExistsError(
            f"{str(root)!r} is a file, not a store. Give a new path for the store, e.g. --out "
            "run.zarr (a directory is created)."
        )
    if exists(root) and not _empty_directory(root):
        if not overwrite and root.is_dir() and _root_attrs(root) is None:
            raise FileExistsError(
                f"{str(root)!r} already exists and is not a neurodyn store. Give a new path "
                "for the store, e.g. --out run.zarr (a directory is created)."
            )
        _check_replaceable(root, overwrite)
    return root


def check_writable(path: StorePath) -> None:
    """Refuse early, before an analysis computes, a store this process cannot write."""
    root = store_root(path)
    if isinstance(root, RemotePath):
        return
    probe = root / f".neurodyn-write-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(root)) from None
    finally:
        probe.unlink(missing_ok=True)


def _empty_directory(root: Root) -> bool:
    if isinstance(root, RemotePath):
        return False
    return root.is_dir() and not root.is_symlink() and not any(root.iterdir())


def _restore_replaced(root: Root) -> None:
    """Put back a store that an `--overwrite` killed between its two renames left aside
    (moved out of the way, its replacement not yet in place)."""
    if isinstance(root, RemotePath) or os.path.lexists(root) or not root.parent.is_dir():
        return
    aside = sorted(root.parent.glob(f"{glob.escape(f'.{root.name}.replaced-')}*"), key=os.path.getmtime)
    if aside:
        try:
            os.rename(aside[-1], root)
        except OSError:
            pass  # another process got there first


def _remove_abandoned_builds(root: Path) -> None:
    """Delete the half-built copies that killed creators of `root` left beside it."""
    prefix = f".{root.name}.creating-"
    for entry in root.parent.glob(f"{glob.escape(prefix)}*"):
        host, _, rest = entry.name[len(prefix):].rpartition("-")[0].rpartition("-")
        if host == hostname() and rest.isdigit() and not pid_alive(int(rest)):
            shutil.rmtree(entry, ignore_errors=True)
    if os.path.lexists(root):  # a replaced store whose deletion was interrupted
        for entry in root.parent.glob(f"{glob.escape(f'.{root.name}.replaced-')}*"):
            shutil.rmtree(entry, ignore_errors=True)


def _publish(building: Path, root: Path) -> None:
    """Move the complete new store into place, only where nothing is (an empty directory
    counts as nothing): a store another process created meanwhile is never replaced."""
    try:
        os.rename(building, root)
    except OSError as e:
        if e.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise FileExistsError(
                f"{str(root)!r} was created by another process while this one prepared its "
                "store; nothing was replaced. Use another --out, or --resume to continue "
                "the sweep stored there."
            ) from None
        raise


def _create_remote(
    root: RemotePath,
    attrs: dict[str, Any],
    members: xr.Dataset,
    groups: Mapping[str, xr.Dataset],
    *,
    replace: bool,
) -> None:
    """Build a store in place behind a URL; the root attributes go last. The creation
    marker is written exclusively first, so two creators never build one store."""
    if replace:
        rmtree(root)
    try:
        create_exclusive(root / CREATING, dumps(owner()))
    except FileExistsError:
        raise FileExistsError(
            f"{str(root)!r} is being created by another process (or was, and was "
            "interrupted); nothing was replaced. Use another --out, or --overwrite."
        ) from None
    zarr.open_group(str(root), path=GROUPS, mode="w-", zarr_format=3)
    write_members(root, members)
    for name, template in groups.items():
        create_group(root, name, template)
    node = zarr.open_group(str(root), mode="r+", zarr_format=3)
    node.attrs[ROOT_ATTR] = attrs
    (root / CREATING).unlink(missing_ok=True)


#: what neurodyn itself writes at the top of a store; `--overwrite` deletes nothing else
STORE_ENTRIES = frozenset(
    {"zarr.json", "members", "groups", "analyses", "_regions", "_locks", "_checkpoints", "_staging", "_jobs", CREATING}
)


def _check_replaceable(root: Root, overwrite: bool) -> None:
    if not overwrite:
        raise FileExistsError(
            f"{str(root)!r} already exists. To continue the sweep stored there, use "
            "--resume; to delete it and start again, use --overwrite (overwrite=True)."
        )
    if not isinstance(root, RemotePath) and os.path.islink(root):
        raise ValueError(
            f"--overwrite refuses to replace {str(root)!r}: it is a symbolic link (to "
            f"{os.readlink(root)!r}). Give the path it points to, or another --out."
        )
    if not root.is_dir():
        raise ValueError(f"--overwrite refuses to replace {str(root)!r}: it is not a directory.")
    creating = isinstance(root, RemotePath) and (root / CREATING).is_file()
    if any(root.iterdir()) and _root_attrs(root) is None and not creating:
        raise ValueError(
            f"--overwrite refuses to delete {str(root)!r}: it is not a neurodyn store (no "
            "'neurodyn' attributes in its zarr.json). Choose another --out path, or "
            "remove it yourself if it is really meant to go."
        )
    foreign = sorted(p.name for p in root.iterdir() if p.name not in STORE_ENTRIES and not p.name.endswith(".partial"))
    if foreign:
        raise ValueError(
            f"--overwrite refuses to delete {str(root)!r}: it holds files neurodyn did not "
            f"write: {foreign[:5]}{' …' if len(foreign) > 5 else ''}. Move them out first, "
            "or choose another --out path."
        )
    busy = live_locks(root)
    if busy:
        raise LockedError(
            f"--overwrite refuses to delete {str(root)!r}: live writers hold locks: "
            f"{busy}. Stop them first."
        )


class Store(eqx.Module):
    """An opened neurodyn store: its path, root attributes, groups and members table.

    Everything is read on access, so a store open while a sweep writes it shows the
    sweep's progress.
    """

    path: Root
    mode: str

    @property
    def attrs(self) -> dict[str, Any]:
        """The root attribute "neurodyn": version, schema_version, created, spec, seeds..."""
        return _root_attrs(self.path) or {}

    @property
    def complete(self) -> bool:
        return bool(self.attrs.get("complete", False))

    @property
    def groups(self) -> list[str]:
        """Names of the sweep's groups (under `groups/`)."""
        return list_children(self.path, GROUPS)

    @property
    def analyses(self) -> list[str]:
        """Names of the analysis results stored (under `analyses/`)."""
        return list_children(self.path, ANALYSES)

    @property
    def members(self) -> xr.Dataset:
        """The members table, as one consistent version, loaded (it is small)."""
        return read_members(self.path)

    def group(self, name: str, *, chunks: dict | str | None = None) -> xr.Dataset:
        """One group's Dataset, lazily (see `read_group`)."""
        return read_group(self.path, name, chunks=chunks)

    def done_regions(self, group: str) -> dict[str, dict[str, Any]]:
        return done_regions(self.path, group)

    def damaged(self, *, hashes: bool = False) -> dict[str, dict[str, list[str]]]:
        """Done regions whose files no longer match their markers, by group and region,
        with what is wrong (sizes only; `hashes=True` also reads every chunk)."""
        return damaged_regions_of(self.path, hashes=hashes)


def marked_groups(root: Root) -> list[str]:
    """Groups that carry done markers (also those whose data has been deleted)."""
    return sorted(set(list_children(root, GROUPS)) | set(_marker_groups(root)))


def _marker_groups(root: Root) -> list[str]:
    base = root / REGIONS / GROUPS
    if not base.is_dir():
        return []
    return [p.name for p in base.iterdir() if p.is_dir()]


def damaged_regions_of(path: StorePath, *, hashes: bool = False) -> dict[str, dict[str, list[str]]]:
    """`Store.damaged` for a store path."""
    root = store_root(path)
    out = {}
    for group in marked_groups(root):
        done = done_regions(root, group)
        if done:
            bad = damaged_regions(root, group, done, hashes=hashes)
            if bad:
                out[group] = bad
    return out


@dataclasses.dataclass
class VerifyReport:
    """What `verify_store` checked and found."""

    groups: int
    regions: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(path: StorePath, *, hashes: bool = True) -> VerifyReport:
    """Check a whole store: every done region against its marker (chunk counts, sizes
    and, with `hashes`, contents), the members table and every analysis readable.
    `neurodyn verify STORE` runs this; `open_sweep` and `--resume` check sizes only."""
    s = open_store(path)
    problems = []
    n_regions = 0
    groups = marked_groups(s.path)
    for group in groups:
        done = done_regions(s.path, group)
        n_regions += len(done)
        for region, issues in damaged_regions(s.path, group, done, hashes=hashes).items():
            problems.extend(f"{group}/{region}: {issue}" for issue in issues)
    try:
        read_members(s.path)
    except FileNotFoundError as err:
        problems.append(f"members table: {err}")
    for name in s.analyses:
        try:
            read_group(s.path, f"{ANALYSES}/{name}").load()
        except Exception as err:  # any reading failure of zarr or a codec
            problems.append(f"analysis {name!r} cannot be read ({type(err).__name__}: {str(err)[:120]}); run it again")
    return VerifyReport(groups=len(groups), regions=n_regions, problems=problems)


def open_store(path: StorePath, *, mode: Literal["r", "a"] = "r") -> Store:
    """Open a store after checking it is a neurodyn store this version can read.

    **Arguments:**

    - `mode`: "r" to read; "a" for the coordinating process of a sweep that will write
      it (repairs what a killed coordinator left half-swapped, and migrates an older
      schema in place when a migration exists).

    **Raises:** FileNotFoundError (no such path); ValueError (not a neurodyn store, a
    newer schema than this neurodyn reads, or an older one it cannot migrate).
    """
    if mode not in ("r", "a"):
        raise ValueError(f"open_store: mode={mode!r} is not one of ['r', 'a'].")
    root = store_root(path)
    _restore_replaced(root)
    if not exists(root):
        raise FileNotFoundError(f"No store at {str(root)!r}: that path does not exist.")
    attrs = _root_attrs(root)
    if attrs is None and isinstance(root, RemotePath) and (root / CREATING).is_file():
        raise ValueError(
            f"{str(root)!r} is a neurodyn store still being created, or whose creation "
            "was interrupted (its root attributes are written last). Wait for it, or "
            "start the sweep again with --overwrite (overwrite=True)."
        )
    if not (root / "zarr.json").is_file():
        raise _not_a_store(root, "no zarr.json: not a zarr v3 store")
    if attrs is None:
        try:
            read_json(root / "zarr.json")
        except ValueError:
            raise ValueError(
                f"{str(root / 'zarr.json')!r} is damaged (not valid JSON), so {str(root)!r} cannot be "
                "opened as a store. Restore that file from a backup or a copy of the store; "
                "nothing else was read or changed."
            ) from None
        raise _not_a_store(root, "a zarr store without the 'neurodyn' root attribute")
    version = attrs.get("schema_version")
    if not isinstance(version, int):
        raise _not_a_store(root, f"schema_version={version!r} is not an integer")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"Store {str(root)!r} has schema version {version}, written by neurodyn "
            f"{attrs.get('version')}; this neurodyn {__version__} reads schema versions up "
            f"to {SCHEMA_VERSION}. Upgrade neurodyn (pip install -U neurodyn) to read it."
        )
    if version < SCHEMA_VERSION:
        _migrate(root, attrs, version, mode)
    if mode == "a":
        recover_staging(root)
    return Store(path=root, mode=mode)


def _migrate(root: Root, attrs: dict[str, Any], version: int, mode: str) -> None:
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:
        raise ValueError(
            f"Store {str(root)!r} has schema version {version} (neurodyn "
            f"{attrs.get('version')}); this neurodyn {__version__} has no migration from "
            f"it to schema {SCHEMA_VERSION}. Read it with neurodyn {attrs.get('version')} "
            f"(pip install neurodyn=={attrs.get('version')})."
        )
    if mode != "a":
        raise ValueError(
            f"Store {str(root)!r} has schema version {version} and must be migrated to "
            f"{SCHEMA_VERSION} before it is read: open it once with "
            "open_store(path, mode='a'), which upgrades it in place."
        )
    for v in range(version, SCHEMA_VERSION):
        MIGRATIONS[v](root)
        update_attrs(root, schema_version=v + 1)


def update_attrs(path: StorePath, **changes: Any) -> None:
    """Change entries of the root attribute "neurodyn" (coordinator only)."""
    root = store_root(path)
    attrs = _root_attrs(root)
    if attrs is None:
        try:
            read_json(root / "zarr.json")
        except ValueError:
            raise ValueError(
                f"{str(root / 'zarr.json')!r} is damaged (not valid JSON), so {str(root)!r} cannot be "
                "opened as a store. Restore that file from a backup or a copy of the store; "
                "nothing else was read or changed."
            ) from None
        raise _not_a_store(root, "a zarr store without the 'neurodyn' root attribute")
    # Opened without the consolidated copy, so rewriting the root drops it (see
    # `_consolidated`): it is written again when the store is complete.
    node = zarr.open_group(str(root), mode="r+", use_consolidated=False)
    node.attrs[ROOT_ATTR] = jsonable({**attrs, **changes}, "attrs")


def set_complete(path: StorePath, complete: bool = True) -> None:
    """Mark the store complete (every region done) or not, in its root attributes; a
    complete store gets consolidated metadata for plain xarray and zarr readers."""
    update_attrs(path, complete=bool(complete))
    if complete:
        consolidate(path)
