"""How datasets are laid out on disk: fill values, chunks, strings, JSON attributes.

- Floats (and complex) are created filled with NaN, signed integers with -1, unsigned
  integers with their maximum, booleans with False, strings with "". Integers and
  booleans are stored with the zarr `fill_value` only (no CF `_FillValue`), so they read
  back as integers and booleans, not as floats with NaN.
- Every variable with a `member` dimension is chunked one member per chunk (other
  dimensions whole unless the template's encoding chooses chunks), so writers of
  disjoint member ranges never touch the same chunk.
- Strings written whole (the members table, analysis results, coordinates) are stored
  as fixed-length UTF-32 and read back as numpy `<U` arrays, which xarray's `where`,
  pandas and every reader handle; member-dimensioned strings created unwritten and
  filled region by region are variable-length UTF-8 (their length is not known yet) and
  read back as numpy `StringDType`.
- Every variable carries CF `long_name` (and `units` where it has one), from `_cf`.
"""

import contextlib
import warnings
from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ._cf import describe
from ._layout import MEMBER_DIM

# Encoding keys that zarr v3 accepts from a template; others (e.g. "dtype", "source",
# "preferred_chunks" of a dataset read from disk) are dropped.
_ENCODING_KEYS = ("compressors", "filters", "serializer", "shards", "chunks", "fill_value")


def fill_value(dtype: np.dtype) -> Any:
    """The value an unwritten element of this dtype reads as."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "c":
        return complex(np.nan, np.nan)
    if dtype.kind == "i":
        return -1
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    if dtype.kind == "b":
        return False
    if dtype.kind in "UTSO":
        return ""
    raise TypeError(
        f"dtype {dtype} cannot be stored in a neurodyn store; use a float, complex, "
        "integer, bool or string dtype (encode times as float seconds)."
    )


@contextlib.contextmanager
def quiet_writes():
    """zarr warns that fixed-length UTF-32 strings have no zarr v3 specification yet
    (zarr-python and xarray read them); the store chooses them knowingly (see above)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The data type \(FixedLengthUTF32")
        yield


def is_string(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind in "UTSO"


def as_numpy(var: xr.Variable, *, variable_strings: bool = False) -> xr.Variable:
    """Bring non-dask data (numpy, JAX) to numpy; strings become fixed-length `<U`, or
    variable-length objects with `variable_strings` (for arrays stored that way)."""
    data = var.data
    if not isinstance(data, da.Array):
        data = np.asarray(data)
    if is_string(data.dtype):
        if variable_strings:
            if data.dtype != object:
                data = data.astype(object)
        elif data.dtype.kind != "U":
            data = np.asarray(data.astype(str), dtype=str) if data.size else np.zeros(data.shape, dtype="<U1")
    return var.copy(deep=False, data=data)


def prepare(ds: xr.Dataset, *, variable_strings: bool = False) -> xr.Dataset:
    """A copy of `ds` ready for xarray's zarr writer (numpy data, `<U` strings, CF attributes)."""
    out = describe(ds)
    for name in list(out.variables):
        out[name] = as_numpy(out[name].variable, variable_strings=variable_strings)
    return out


def member_chunks(var: xr.Variable) -> tuple[int, ...]:
    """Chunk shape with one member per chunk; other dims from the encoding, else whole."""
    chosen = var.encoding.get("chunks")
    chunks = []
    for i, (dim, size) in enumerate(zip(var.dims, var.shape)):
        if dim == MEMBER_DIM:
            chunks.append(1)
        elif chosen is not None:
            chunks.append(max(1, min(int(chosen[i]), size)))
        else:
            chunks.append(max(1, size))
    return tuple(chunks)


def placeholders(template: xr.Dataset) -> tuple[xr.Dataset, dict[str, dict]]:
    """A dataset whose member-dimensioned data variables are lazy fills, and its encoding.

    Coordinates and variables without a `member` dimension keep their values (they are
    written once, at creation); data variables with one keep only dims, shape, dtype and
    attributes. Writing the result with `compute=False` creates the arrays at full size
    without writing a single chunk of them.
    """
    out = prepare(template)
    encoding: dict[str, dict] = {}
    for name, var in template.data_vars.items():
        enc = {k: v for k, v in var.encoding.items() if k in _ENCODING_KEYS}
        if MEMBER_DIM not in var.dims:
            enc.pop("chunks", None)
            if enc:
                encoding[name] = enc
            continue
        fill = enc.get("fill_value", fill_value(var.dtype))
        enc["fill_value"] = fill
        enc["chunks"] = member_chunks(var)
        if is_string(var.dtype):
            # dask cannot hold variable-length strings without a warning; numpy costs a
            # pointer per element, and an all-"" chunk equals the fill (never written)
            data = np.full(var.shape, fill, dtype=object)
        else:
            data = da.full(var.shape, fill, dtype=var.dtype, chunks=enc["chunks"])
        out[name] = xr.Variable(var.dims, data, attrs=out[name].attrs)
        encoding[name] = enc
    return out, encoding


def jsonable(value: Any, where: str = "attrs") -> Any:
    """`value` with numpy scalars and arrays made JSON-able; a clear error otherwise."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} must be a string to be stored as JSON.")
            out[k] = jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"{where} = {value!r} of type {type(value).__name__} cannot be stored as JSON; "
        "convert it to a number, string, list or dict first."
    )
