"""Consolidated metadata: the whole hierarchy's metadata in the root `zarr.json`.

Plain xarray and zarr read it to open a group (`xr.open_zarr(store, group="members")`,
`xr.open_datatree(store, engine="zarr")`) without listing directories, so they neither
warn about a missing consolidated copy nor about the store's bookkeeping directories
(`_regions`, `_locks`, `_checkpoints`, …), which are not zarr nodes. neurodyn itself
never reads the consolidated copy (it always reads each node's own metadata), so a copy
can only ever be stale for other readers; to keep it from being stale at all, every
change of metadata (a members table replaced, a group created or grown, an analysis
written, a root attribute changed) drops it first, and it is written again when a
sweep completes and after each analysis is stored. A store being written therefore
opens in plain xarray with `consolidated=False`. Coordinator only.
"""

import json
import warnings

import zarr

from ._layout import StorePath, store_root


def consolidate(path: StorePath) -> None:
    """Write the root's consolidated metadata from every node's own metadata."""
    root = store_root(path)
    with warnings.catch_warnings():
        # The walk meets the bookkeeping directories (not zarr nodes), and zarr notes
        # that consolidated metadata is not part of the zarr v3 core specification.
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(root), zarr_format=3)


def drop_consolidated(path: StorePath) -> None:
    """Remove the root's consolidated metadata (before its content changes)."""
    root = store_root(path)
    try:
        doc = json.loads((root / "zarr.json").read_bytes())
    except (OSError, ValueError):
        return
    if not isinstance(doc, dict) or doc.get("consolidated_metadata") is None:
        return
    node = zarr.open_group(str(root), mode="r+", use_consolidated=False)
    node.attrs.update(dict(node.attrs))  # rewrites zarr.json from the node's own metadata
