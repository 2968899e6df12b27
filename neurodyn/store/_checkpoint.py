"""Checkpoints of a region's training state: any pytree of arrays, restored bit for bit.

One file, `_checkpoints/<group>/<region>/checkpoint.npz`, holds every array leaf (typed
PRNG keys as `jr.key_data` plus their implementation's name; dtypes numpy lacks, such
as bfloat16, as raw bytes), a manifest of leaf paths, shapes and dtypes, and the
caller's JSON meta (step, history length...). It is written to a temporary sibling,
fsynced and `os.replace`d, so a kill at any moment leaves the previous checkpoint or the
new one. A temporary file left by a kill is ignored by `load_checkpoint` and deleted by
the next `save_checkpoint`.

Behind an fsspec URL the file is assembled in memory and written whole by
`atomic_write_bytes` (one PUT on object stores, which publish it only once complete; a
temporary key moved into place and verified elsewhere), with the same guarantee: the
previous checkpoint or the new one, never a mix.

Only array leaves (and Python numbers) are saved; everything else in the pytree
(functions, static fields) comes from the `like` template at load time, which must have
the same structure, shapes and dtypes.
"""

import io
import json
import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .._faults import crash_point
from ._encoding import jsonable
from ._files import atomic_write_bytes, fsync_dir, read_bytes, remove_partials, rmtree, temp_name
from ._layout import Root, StorePath, checkpoint_dir, store_root
from ._remote import RemotePath

FILE = "checkpoint.npz"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back: truncated, empty, not written by
    neurodyn, or saved from a different training state. A checkpoint only saves time,
    so a sweep that meets one reports it and trains the region again from its start."""

_MANIFEST, _META = "__manifest__", "__meta__"
_PYTHON = {"bool": bool, "int": int, "float": float, "complex": complex}


def _is_key(x) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))


def _describe(x) -> str:
    if _is_array(x):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def _encode(leaf) -> tuple[dict[str, Any], np.ndarray | None]:
    if _is_key(leaf):
        data = np.asarray(jr.key_data(leaf))
        entry = {"kind": "key", "impl": str(jr.key_impl(leaf)), "dtype": str(leaf.dtype)}
        return {**entry, "shape": list(leaf.shape)}, data
    if _is_array(leaf):
        data = np.asarray(leaf)
        entry = {"kind": "array", "dtype": data.dtype.name, "shape": list(data.shape)}
        if data.dtype.kind not in "biufc" or type(data.dtype).__module__ != "numpy.dtypes":
            entry["raw"] = True
            data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        return entry, data
    if type(leaf) in (bool, int, float, complex):
        return {"kind": "python", "type": type(leaf).__name__}, np.asarray(leaf)
    return {"kind": "static"}, None


def save_checkpoint(
    store_path: StorePath,
    group: str,
    region: str,
    state: Any,
    *,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Save a training-state pytree (e.g. an `eqx.Module` of JAX arrays and keys).

    **Arguments:**

    - `state`: any pytree; its array leaves are saved exactly (sharded arrays are
      gathered to the host).
    - `meta`: JSON-able facts to keep with it (e.g. `{"step": 1200, "history": 12}`),
      returned by `load_checkpoint` and `read_checkpoint_meta`.

    Replaces the previous checkpoint of the region atomically.
    """
    directory = checkpoint_dir(store_root(store_path), group, region)
    directory.mkdir(parents=True, exist_ok=True)
    remove_partials(directory)
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    arrays: dict[str, np.ndarray] = {}
    manifest = []
    for i, (path, leaf) in enumerate(flat):
        entry, data = _encode(leaf)
        entry["path"] = jax.tree_util.keystr(path)
        if data is not None:
            arrays[f"leaf_{i:05d}"] = data
        manifest.append(entry)
    arrays[_MANIFEST] = np.array(json.dumps(manifest))
    arrays[_META] = np.array(json.dumps(jsonable(dict(meta or {}), "meta")))
    target = directory / FILE
    if isinstance(target, RemotePath):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        crash_point("checkpoint_write")
        atomic_write_bytes(target, buffer.getvalue())
        return
    tmp = temp_name(target)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        crash_point("checkpoint_write")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


def _checkpoint_file(store_path: StorePath, group: str, region: str) -> Root:
    return checkpoint_dir(store_root(store_path), group, region) / FILE


def _damaged(path: Root, why: str) -> CheckpointError:
    return CheckpointError(
        f"Checkpoint {str(path)!r} cannot be read ({why}). It only saves time: delete it "
        "(or let `--resume` do so) and the region trains again from its start."
    )


def _open_npz(path: Root):
    try:
        source = io.BytesIO(read_bytes(path)) if isinstance(path, RemotePath) else path
        z = np.load(source, allow_pickle=False)
    except Exception as e:  # OSError, ValueError, EOFError, zipfile.BadZipFile
        raise _damaged(path, f"not a complete .npz file: {type(e).__name__}") from None
    if not isinstance(z, np.lib.npyio.NpzFile) or _MANIFEST not in z.files or _META not in z.files:
        raise _damaged(path, "not a neurodyn checkpoint: no manifest inside")
    return z


def _read_entry(z, name: str, path: Root):
    """One array of the archive, with every way a damaged file fails named."""
    try:
        return z[name]
    except KeyError:
        raise _damaged(path, f"the entry {name!r} is missing") from None
    except Exception as e:  # zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError
        raise _damaged(path, f"the entry {name!r} is corrupt: {type(e).__name__}") from None


def _read_json_entry(z, name: str, path: Root):
    try:
        return json.loads(str(_read_entry(z, name, path)))
    except ValueError:
        raise _damaged(path, f"the entry {name!r} is not JSON") from None


def read_checkpoint_meta(store_path: StorePath, group: str, region: str) -> dict[str, Any] | None:
    """The meta saved with a region's checkpoint, or None when it has none."""
    path = _checkpoint_file(store_path, group, region)
    if not path.is_file():
        return None
    with _open_npz(path) as z:
        return _read_json_entry(z, _META, path)


def _decode(entry: dict[str, Any], data: np.ndarray | None, like: Any, where: str):
    kind = entry["kind"]
    if kind == "static":
        return like
    if kind == "python":
        return _PYTHON[entry["type"]](data.item())
    shape = tuple(entry["shape"])
    like_dtype = str(like.dtype) if _is_key(like) else jnp.dtype(like.dtype).name
    if not _is_array(like) or tuple(like.shape) != shape or like_dtype != entry["dtype"]:
        raise CheckpointError(
            f"Checkpoint leaf {where} is an array of shape {shape} and dtype "
            f"{entry['dtype']}, but the template has {_describe(like)}; the template "
            "must describe the same training state the checkpoint was saved from."
        )
    if kind == "key":
        value = jr.wrap_key_data(jnp.asarray(data), impl=entry["impl"])
    else:
        if entry.get("raw"):
            data = data.view(jnp.dtype(entry["dtype"])).reshape(shape)
        if isinstance(like, np.generic):
            return data.reshape(shape)[()]
        if isinstance(like, np.ndarray):
            return data.reshape(shape)
        value = jnp.asarray(data)
    sharding = getattr(like, "sharding", None)
    return value if sharding is None else jax.device_put(value, sharding)


def load_checkpoint(
    store_path: StorePath, group: str, region: str, *, like: Any
) -> tuple[Any, dict[str, Any]] | None:
    """Load a region's checkpoint into the structure of `like`; None when there is none.

    **Arguments:**

    - `like`: a pytree of the same structure, shapes and dtypes as the saved state
      (concrete arrays, or `jax.ShapeDtypeStruct`s from `eqx.filter_eval_shape`); its
      non-array leaves are used as they are, and its arrays' shardings are reused.

    **Returns:** `(state, meta)`.
    """
    path = _checkpoint_file(store_path, group, region)
    if not path.is_file():
        return None
    like_flat, treedef = jax.tree_util.tree_flatten_with_path(like)
    with _open_npz(path) as z:
        manifest = _read_json_entry(z, _MANIFEST, path)
        meta = _read_json_entry(z, _META, path)
        if not isinstance(manifest, list) or not all(isinstance(e, dict) and "path" in e for e in manifest):
            raise _damaged(path, "its manifest is not a list of leaves")
        saved = [e["path"] for e in manifest]
        wanted = [jax.tree_util.keystr(p) for p, _ in like_flat]
        if saved != wanted:
            diff = next(
                (f"{a} vs {b}" for a, b in zip(saved, wanted) if a != b),
                f"{len(saved)} vs {len(wanted)} leaves",
            )
            raise CheckpointError(
                f"Checkpoint {str(path)!r} has a different structure than the template "
                f"(saved vs template: {diff}); the template must describe the same "
                "training state the checkpoint was saved from."
            )
        leaves = []
        for i, (entry, (_, like_leaf)) in enumerate(zip(manifest, like_flat)):
            name = f"leaf_{i:05d}"
            data = _read_entry(z, name, path) if name in z.files else None
            try:
                leaves.append(_decode(entry, data, like_leaf, entry["path"]))
            except CheckpointError:
                raise
            except (KeyError, TypeError, AttributeError) as e:
                raise _damaged(path, f"leaf {entry['path']} is malformed: {type(e).__name__}") from None
    return jax.tree_util.tree_unflatten(treedef, leaves), meta


def remove_checkpoint(store_path: StorePath, group: str, region: str) -> None:
    """Delete a region's checkpoint (e.g. once the region is marked done)."""
    rmtree(checkpoint_dir(store_root(store_path), group, region))
