"""Region writes and done markers: each writer fills its own member range, then says so.

A region is a contiguous range of members of one group, written by one writer under
its region lock. Its data may arrive in several `write_region` calls (e.g. history as
training goes); `mark_done` is called last, after every byte of the region is written,
and resume trusts nothing but these markers.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
import zarr

from ._encoding import jsonable, prepare
from ._files import atomic_write_json, owner, read_json
from ._groups import group_exists, member_count
from ._integrity import MANIFEST, region_manifest
from ._layout import (
    MEMBER_DIM,
    StorePath,
    done_path,
    group_path,
    regions_dir,
    store_root,
    unknown_group,
)
from ._remote import RemotePath


def _check_slice(members: slice, n: int, group: str) -> slice:
    if not isinstance(members, slice):
        raise TypeError(f"members must be a slice such as slice(0, 64), got {members!r}.")
    start, stop = members.start, members.stop
    ok = isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer))
    if not ok or members.step not in (None, 1) or not 0 <= start < stop <= n:
        raise ValueError(
            f"member slice {members} is not a non-empty range within the {n} members of "
            f"group {group!r}; use slice(start, stop) with 0 <= start < stop <= {n}."
        )
    return slice(int(start), int(stop))


def write_region(
    store_path: StorePath,
    group: str,
    members: slice,
    ds: xr.Dataset,
    *,
    at: Mapping[str, slice] | None = None,
) -> None:
    """Write the data of members `members` (positions along `member`) of a group.

    **Arguments:**

    - `group`: a group created by `create_store` (or a path such as `"analyses/x"`).
    - `members`: `slice(start, stop)` of member positions; `ds.sizes["member"]` must be
      `stop - start`.
    - `ds`: data variables that all have a `member` dimension and exist in the group
      (numpy or JAX data). Coordinates were written at creation and are not rewritten;
      a `member` coordinate, if present, must equal the stored one.
    - `at`: slices along other dimensions, to write part of each member (e.g.
      `{"step": slice(1000, 2000)}` for a block of history).

    Chunks hold one member each, so writers of disjoint ranges never share a chunk.
    """
    root = store_root(store_path)
    if not group_exists(root, group):
        raise unknown_group(root, group)
    path = group_path(group)
    members = _check_slice(members, member_count(root, group), path)
    no_member = [n for n, v in ds.data_vars.items() if MEMBER_DIM not in v.dims]
    if no_member:
        raise ValueError(
            f"write_region({path!r}): variables {no_member} have no {MEMBER_DIM!r} dimension; "
            "variables shared by all members are written once, by create_store."
        )
    if ds.sizes.get(MEMBER_DIM) != members.stop - members.start:
        raise ValueError(
            f"write_region({path!r}): ds has {ds.sizes.get(MEMBER_DIM)} members but the "
            f"slice {members} covers {members.stop - members.start}."
        )
    node = zarr.open_group(str(root), path=path, mode="r")
    stored = set(node.array_keys())
    unknown = [n for n in ds.data_vars if n not in stored]
    if unknown:
        raise ValueError(
            f"write_region({path!r}): variables {unknown} are not in the group; it holds "
            f"{sorted(stored)}. Variables are fixed when the store is created."
        )
    renamed = {}
    for name, var in ds.data_vars.items():
        dims = tuple(node[name].metadata.dimension_names or ())
        if var.dims != dims:
            if not _generic_names_of(name, var.dims, dims):
                raise ValueError(
                    f"write_region({path!r}): variable {name!r} has dims {var.dims}, the store "
                    f"has {dims}."
                )
            renamed[name] = (dims, var.data, var.attrs)
    if renamed:  # a store written before its model's dims were named keeps its names
        ds = ds.drop_vars(list(renamed)).assign(renamed)
    if MEMBER_DIM in ds.coords and MEMBER_DIM in stored:
        expected = node[MEMBER_DIM][members.start : members.stop]
        if not np.array_equal(np.asarray(ds[MEMBER_DIM].values), expected):
            raise ValueError(
                f"write_region({path!r}): the member coordinate {ds[MEMBER_DIM].values} does "
                f"not match the stored members {expected} at positions {members}."
            )
    region = {MEMBER_DIM: members, **(dict(at) if at else {})}
    data = prepare(ds.drop_vars(list(ds.coords)), variable_strings=True)
    data.attrs = {}
    for name in data.variables:  # the arrays' attributes were written when they were created
        data[name].attrs = {}
    data.to_zarr(str(root), group=path, region=region, mode="r+", consolidated=False)


def _generic_names_of(name: str, dims: tuple, stored: tuple) -> bool:
    """Whether `stored` are the generic `<field>_<i>` dims an earlier release wrote for
    the parameter array `name` (`final_W_rec`: `W_rec_0`, `W_rec_1`) where `dims` now
    names them: same rank, equal wherever they differ not by being generic."""
    if len(dims) != len(stored):
        return False
    differ = [i for i, (a, b) in enumerate(zip(dims, stored)) if a != b]
    fields = [name[len(p):] for p in ("final_", "init_", "snapshot_") if name.startswith(p)]
    if not differ or not fields:
        return False
    offset = len(stored) - len([d for d in stored if d.startswith(fields[0] + "_")])
    return all(stored[i] == f"{fields[0]}_{i - offset}" for i in differ)


def mark_done(
    store_path: StorePath,
    group: str,
    region: str,
    *,
    members: slice,
    info: Mapping[str, Any] | None = None,
    hashes: bool | None = None,
) -> None:
    """Record that every variable of `region` is written: call it last.

    The marker `_regions/<group>/<region>.done` is JSON with the writer's host and pid,
    the time, the member range, `info` (any JSON-able extras, e.g. steps trained) and
    the region's manifest (`info["manifest"]`: per array, the number, sizes and — with
    `hashes`, the default on local stores — a digest of the contents of its chunk files;
    see `_integrity.py`), which `open_sweep`, `--resume` and `neurodyn verify` check.
    """
    root = store_root(store_path)
    if not group_exists(root, group):
        raise unknown_group(root, group)
    members = _check_slice(members, member_count(root, group), group_path(group))
    if hashes is None:
        hashes = not isinstance(root, RemotePath)
    manifest = region_manifest(root, group, members, hashes=hashes)
    marker = {
        **owner(),
        "group": group_path(group),
        "region": region,
        "members": [members.start, members.stop],
        "info": {**jsonable(dict(info or {}), "info"), MANIFEST: manifest},
    }
    atomic_write_json(done_path(root, group, region), marker)


def is_done(store_path: StorePath, group: str, region: str) -> bool:
    """Whether `region` of `group` carries a (readable) done marker."""
    path = done_path(store_root(store_path), group, region)
    if not path.is_file():
        return False
    try:
        return _valid_marker(read_json(path))
    except (ValueError, FileNotFoundError):
        return False


def done_regions(store_path: StorePath, group: str) -> dict[str, dict[str, Any]]:
    """Every done region of `group`, by region name, with its marker's content."""
    directory = regions_dir(store_root(store_path), group)
    if not directory.is_dir():
        return {}
    remote = isinstance(directory, RemotePath)  # listed keys are files there
    out = {}
    for p in sorted(directory.iterdir()):
        if not (p.name.endswith(".done") and (remote or p.is_file())):
            continue
        try:
            marker = read_json(p)
        except ValueError:
            marker = None
        if not _valid_marker(marker):
            # a marker that cannot be read proves nothing: its region is not done
            continue
        out[p.name[: -len(".done")]] = marker
    return out


def _valid_marker(marker) -> bool:
    if not isinstance(marker, dict):
        return False
    members = marker.get("members")
    return (
        isinstance(members, list)
        and len(members) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in members)
        and isinstance(marker.get("info", {}), dict)
    )


def undo_done(store_path: StorePath, group: str, region: str) -> None:
    """Remove a region's done marker (a damaged region, to be trained again)."""
    done_path(store_root(store_path), group, region).unlink(missing_ok=True)
