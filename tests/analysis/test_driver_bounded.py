
"""The analysis driver holds at most `members_per_chunk` members at once, however large the store."""

import dask.array
import numpy as np
import pytest
import xarray as xr

import neurodyn
from neurodyn.analysis._over_members import run_over_members

SPEC = {
    "task": {"name": "flipflop", "n_bits": 1, "n_time": 6},
    "model": {"name": "ctrnn", "hidden_size": 3, "dt": 0.2},
    "train": {"learning_rate": 1e-2, "n_steps": 4, "eval_every": 4, "batch_size": 2, "eval_batch_size": 2},
    "sweep": {"seeds": 3, "trajectories": 2, "members_per_chunk": 4},
}


def _seen_chunks(path, k):
    seen = []

    def fn(chunk):
        n = len(chunk.members)
        lazy = [name for name, v in chunk.data.data_vars.items() if isinstance(v.variable._data, dask.array.Array)]
        seen.append((n, chunk.data.sizes["member"], int(chunk.models.W_rec.shape[0]), len(lazy) == len(chunk.data.data_vars)))
        return xr.Dataset({"n": ("member", np.full(n, n))})

    run_over_members(path, "count", fn, members_per_chunk=k, progress=False, write=False)
    return seen


@pytest.mark.slow  # grows a store three times
def test_members_in_memory_never_exceed_the_chunk_as_the_store_grows(tmp_path):
    path = tmp_path / "grow.zarr"
    spec = {**SPEC, "sweep": dict(SPEC["sweep"])}
    neurodyn.run_sweep(spec, path, progress=False)
    totals = []
    for seeds in (3, 7):
        if seeds != 3:
            spec["sweep"]["seeds"] = seeds
            neurodyn.run_sweep(spec, path, resume=True, progress=False)
        for k in (1, 2):
            seen = _seen_chunks(path, k)
            totals.append(sum(n for n, *_ in seen))
            # every chunk: at most k members, the data a lazy (dask) slice of exactly those members
            assert all(n <= k and m == n and w == n and lazy for n, m, w, lazy in seen), seen
            assert max(n for n, *_ in seen) == k
    assert totals == [3, 3, 7, 7]
