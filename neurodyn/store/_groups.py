"""Datasets inside a store: created at full size, replaced whole, grown, read lazily."""

import json

import xarray as xr
import zarr

from ._consolidated import consolidate, drop_consolidated
from ._encoding import member_chunks, placeholders, prepare, quiet_writes
from ._layout import MEMBER_DIM, Root, StorePath, group_path, resolve, store_root, unknown_group
from ._staging import swap_in


def _check_member_dim(group: str, ds: xr.Dataset) -> None:
    if MEMBER_DIM not in ds.dims:
        raise ValueError(
            f"Dataset for group {group!r} has no {MEMBER_DIM!r} dimension (dims: "
            f"{list(ds.dims)}); every variable written per member needs one."
        )


def _to_zarr(ds: xr.Dataset, *args, **kwargs) -> None:
    with quiet_writes():
        ds.to_zarr(*args, **kwargs)


def create_group(store_path: StorePath, group: str, template: xr.Dataset) -> None:
    """Create a group at full size from a template, for `write_region` to fill.

    `create_store` does this for the sweep's groups; an analysis that writes its result
    member chunk by member chunk calls it for e.g. `"analyses/fixed_points"`. As in
    `create_store`, coordinates and variables without a `member` dimension are written
    now; member-dimensioned data variables are created unwritten (NaN, -1, False, ""),
    one member per chunk, and read as their fill value until a region is written.
    """
    root = store_root(store_path)
    path = group_path(group)
    if group_exists(root, path):
        raise FileExistsError(
            f"Store {str(root)!r} already holds {path!r}; remove it or write elsewhere."
        )
    _check_member_dim(path, template)
    drop_consolidated(root)
    ds, encoding = placeholders(template)
    _to_zarr(
        ds,
        str(root),
        group=path,
        mode="w-",
        compute=False,
        consolidated=False,
        zarr_format=3,
        encoding=encoding,
    )


def group_exists(root: Root, group: str) -> bool:
    return (root / group_path(group) / "zarr.json").is_file()


def _readable(meta: Root) -> bool:
    try:
        doc = json.loads(meta.read_bytes())
    except (ValueError, OSError):
        return False
    return isinstance(doc, dict) and doc.get("zarr_format") == 3


def repair_group(store_path: StorePath, group: str, template: xr.Dataset) -> list[str]:
    """Re-create what is missing of a group from the template it was created from.

    A deleted group is created again (unwritten); a deleted array, or one whose
    `zarr.json` cannot be read, gets its metadata back (chunk files still present are
    kept and read again). Nothing that can be read is rewritten. Returns what was
    re-created ("<group>" for the whole group, else array names); done markers are not
    touched here: the regions whose data went with it no longer match their manifests
    and are found damaged. Coordinator only.
    """
    root = store_root(store_path)
    path = group_path(group)
    base = root / path
    drop_consolidated(root)
    if not (base / "zarr.json").is_file():
        if base.is_dir() and any(base.iterdir()):
            zarr.open_group(str(root), path=path, mode="a", zarr_format=3)
        else:
            create_group(root, group, template)
            return [path]
    elif not _readable(base / "zarr.json"):
        (base / "zarr.json").unlink()
        zarr.open_group(str(root), path=path, mode="a", zarr_format=3)
    missing = []
    for name in template.variables:
        meta = base / str(name) / "zarr.json"
        if meta.is_file() and _readable(meta):
            continue
        if meta.is_file():
            meta.unlink()
        missing.append(str(name))
    if not missing:
        return []
    # Coordinates without a member dimension are derived, not trained: one missing is
    # written again without being reported (stores from before a coordinate existed).
    derived = {n for n in missing if n in template.coords and MEMBER_DIM not in template[n].dims}
    part = template[[n for n in missing if n in template.data_vars]]
    for name in missing:
        if name in template.coords and name not in part.coords:
            part = part.assign_coords({name: template[name]})
    ds, encoding = placeholders(part)
    ds = ds.drop_vars([n for n in ds.variables if n not in missing])
    _to_zarr(
        ds,
        str(root),
        group=path,
        mode="a",
        compute=False,
        consolidated=False,
        encoding={k: v for k, v in encoding.items() if k in ds.variables},
    )
    return [n for n in missing if n not in derived]


def append_members(store_path: StorePath, group: str, template: xr.Dataset) -> None:
    """Grow `group` along `member` by the members of `template`, unwritten (fill values).

    Existing members, their chunks and their done markers are untouched; the new members
    are positions `n_old ... n_old + template.sizes["member"] - 1`. Variables without a
    `member` dimension are already stored and are not rewritten. Coordinator only.
    """
    root = store_root(store_path)
    if not group_exists(root, group):
        raise unknown_group(root, group)
    _check_member_dim(group, template)
    template = template.drop_vars(
        [name for name, var in template.variables.items() if MEMBER_DIM not in var.dims]
    )
    ds, _ = placeholders(template)
    drop_consolidated(root)
    _to_zarr(
        ds,
        str(root),
        group=group_path(group),
        mode="a",
        append_dim=MEMBER_DIM,
        compute=False,
        consolidated=False,
    )


def write_dataset(
    store_path: StorePath, group: str, ds: xr.Dataset, *, replace: bool = True
) -> None:
    """Write a whole dataset (e.g. an analysis result) at `group`, replacing it atomically.

    **Arguments:**

    - `group`: a path from the store root, e.g. `"analyses/fixed_points"` (a bare name
      means `"groups/<name>"`).
    - `ds`: written complete (numpy, JAX or dask data); variables with a `member`
      dimension are chunked one member per chunk.
    - `replace`: when False, an existing group is an error.

    The new group is written beside the old one and swapped in by renames, so readers
    that open it see either version whole.
    """
    root = store_root(store_path)
    path = group_path(group)
    if not (root / "zarr.json").is_file():
        raise FileNotFoundError(f"No neurodyn store at {str(root)!r}; create it first.")
    if not replace and group_exists(root, path):
        raise FileExistsError(
            f"Store {str(root)!r} already holds {path!r}; pass replace=True to replace it."
        )
    ready = prepare(ds)
    encoding = {
        name: {"chunks": member_chunks(var)}
        for name, var in ready.variables.items()
        if MEMBER_DIM in var.dims and name not in ready.coords
    }
    drop_consolidated(root)
    swap_in(
        root,
        path,
        lambda staged: _to_zarr(ready, str(staged), mode="w-", consolidated=False, zarr_format=3, encoding=encoding),
    )
    consolidate(root)


def read_group(
    store_path: StorePath, group: str, *, chunks: dict | str | None = None
) -> xr.Dataset:
    """Open one group of a store lazily.

    **Arguments:**

    - `group`: a group name (`"g0"`, under `groups/`) or a path (`"analyses/fixed_points"`).
    - `chunks`: None for lazily indexed numpy arrays (each selection reads only what it
      needs); `{}` for dask arrays on the stored chunks (one member each), or any dask
      chunk specification (e.g. `{"member": 64}`).

    Safe while a sweep writes the store: members not yet written read as NaN (-1 for
    integers, False for booleans).
    """
    root = store_root(store_path)
    where, path = resolve(root, group_path(group))
    if path is not None and not group_exists(root, group):
        raise unknown_group(root, group)
    return xr.open_zarr(str(where), group=path, consolidated=False, chunks=chunks, zarr_format=3)


def member_count(root: Root, group: str) -> int:
    """Length of the `member` dimension of a stored group (from metadata only)."""
    node = zarr.open_group(str(root), path=group_path(group), mode="r")
    for _, array in node.arrays():
        names = list(array.metadata.dimension_names or ())
        if MEMBER_DIM in names:
            return int(array.shape[names.index(MEMBER_DIM)])
    raise ValueError(
        f"Group {group_path(group)!r} has no variable with a {MEMBER_DIM!r} dimension."
    )
