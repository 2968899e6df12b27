"""The members table: one row per network, written whole by the coordinating process."""

import time
import uuid

import xarray as xr
import zarr

from ._consolidated import drop_consolidated
from ._encoding import prepare, quiet_writes
from ._layout import MEMBER_DIM, MEMBERS, StorePath, resolve, store_root
from ._staging import swap_in

# A fresh token per rewrite; a reader that sees it change while reading reads again.
GENERATION = "neurodyn_generation"
_RETRY_S = 5.0


def write_members(store_path: StorePath, ds: xr.Dataset) -> None:
    """Replace the members table of a store by `ds` (dim `member`).

    Hyperparameters are coordinates on `member`; status, group name, final loss, steps
    trained and the like are data variables. Only the coordinating process calls this:
    the table is written complete beside the old one and swapped in by renames, so a
    reader (`read_members`) always gets one whole version.
    """
    if MEMBER_DIM not in ds.dims:
        raise ValueError(
            f"The members table needs a {MEMBER_DIM!r} dimension; got dims {list(ds.dims)}."
        )
    ready = prepare(ds)
    ready.attrs = {**ds.attrs, GENERATION: uuid.uuid4().hex}
    drop_consolidated(store_path)
    swap_in(
        store_root(store_path),
        MEMBERS,
        lambda staged: _write(ready, staged),
    )


def _write(ready: xr.Dataset, staged) -> None:
    with quiet_writes():
        ready.to_zarr(str(staged), mode="w-", consolidated=False, zarr_format=3)


def read_members(store_path: StorePath) -> xr.Dataset:
    """The members table, loaded into memory (it is small), as one consistent version.

    Retries for a few seconds across a concurrent rewrite; raises FileNotFoundError if
    the store has no table.
    """
    root = store_root(store_path)
    deadline = time.monotonic() + _RETRY_S
    while True:
        try:
            where, path = resolve(root, MEMBERS)
            ds = xr.open_zarr(
                str(where), group=path, consolidated=False, chunks=None, zarr_format=3
            ).load()
            after = zarr.open_group(str(where), path=path, mode="r").attrs.get(GENERATION)
            if ds.attrs.get(GENERATION) == after:
                ds.attrs.pop(GENERATION, None)
                return ds
            error: Exception = RuntimeError("the members table changed while it was read")
        except Exception as e:  # a missing, half-swapped or corrupt table (zarr, numcodecs)
            error = e
        if time.monotonic() > deadline:
            raise FileNotFoundError(
                f"Could not read the members table of {str(root)!r} ({type(error).__name__}: "
                f"{str(error)[:200]}). Write it again from the spec and the stored groups: "
                f"`neurodyn sweep SPEC --out {str(root)} --resume` (run_sweep(spec, path, "
                "resume=True)); nothing else in the store is touched."
            ) from error
        time.sleep(0.02)
