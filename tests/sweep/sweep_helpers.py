import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import xarray as xr
import zarr

from neurodyn import store

#: two groups (hidden sizes), two regions each, four compiled calls per region
SMALL = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": 0.1},
    "model": {"name": "ctrnn", "hidden_size": [6, 8], "dt": 0.2},
    "train": {
        "learning_rate": [3e-3, 1e-2],
        "n_steps": 16,
        "eval_every": 4,
        "batch_size": 4,
        "eval_batch_size": 4,
    },
    "sweep": {"seeds": 2, "members_per_chunk": 2, "trajectories": 3, "checkpoint_every": 1},
}

CACHE_ENV = {
    "JAX_COMPILATION_CACHE_DIR": os.path.join(os.path.dirname(__file__), "..", "..", ".jax_cache"),
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.5",
}


def xla_flags(*flags: str) -> str:
    """`XLA_FLAGS` for a subprocess: the test processes' own (tests/conftest.py) plus `flags`."""
    return " ".join([os.environ.get("XLA_FLAGS", ""), *flags]).strip()


#: attributes that legitimately differ between two runs of one sweep
VOLATILE_ATTRS = {"created", "git_revision", "updated", "completed", "generation"}


def run_in_subprocess(spec: dict, out, *, crash_at=None, extra="", timeout=600, env=None):
    code = textwrap.dedent(
        f"""
        import json, neurodyn
        spec = json.loads({json.dumps(json.dumps(spec))})
        neurodyn.run_sweep(spec, {str(out)!r}, progress=False{extra})
        """
    )
    full_env = dict(os.environ)
    full_env.pop("NEURODYN_CRASH_AT", None)
    if crash_at:
        full_env["NEURODYN_CRASH_AT"] = crash_at
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=full_env)


def _attrs(path, group=None):
    root = zarr.open_group(str(path), mode="r")
    node = root if group is None else root[group]
    attrs = dict(node.attrs)
    if "neurodyn" in attrs:
        attrs["neurodyn"] = {k: v for k, v in attrs["neurodyn"].items() if k not in VOLATILE_ATTRS}
    return attrs


def assert_stores_equal(a, b):
    """Every variable bitwise equal (NaN where NaN), attributes equal but timestamps."""
    sa, sb = store.open_store(a), store.open_store(b)
    assert sorted(sa.groups) == sorted(sb.groups)
    assert _attrs(a) == _attrs(b)
    ma, mb = store.read_members(a), store.read_members(b)
    xr.testing.assert_identical(ma, mb)
    for g in sa.groups:
        da_, db_ = store.read_group(a, g).load(), store.read_group(b, g).load()
        assert sorted(da_.variables) == sorted(db_.variables), g
        for name in da_.variables:
            x, y = np.asarray(da_[name].values), np.asarray(db_[name].values)
            if x.dtype.kind == "f":
                np.testing.assert_array_equal(x, y, err_msg=f"{g}/{name}")
            else:
                assert np.array_equal(x, y), f"{g}/{name}"
        assert da_.attrs == db_.attrs


def make_reference_store(tmp_path_factory):
    """An uninterrupted run of SMALL."""
    out = tmp_path_factory.mktemp("ref") / "ref.zarr"
    result = run_in_subprocess(SMALL, out, env=CACHE_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return pathlib.Path(out)
