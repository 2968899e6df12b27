"""Two sweeps started at once on one new path: one trains, the other is refused, and
the store is that of a single run."""

import json
import os
import subprocess
import sys

import pytest
from sweep_helpers import CACHE_ENV, SMALL, assert_stores_equal


@pytest.mark.slow
def test_two_sweeps_started_on_one_new_path(tmp_path, reference_store):
    out = tmp_path / "run.zarr"
    code = (
        "import json, neurodyn\n"
        f"neurodyn.run_sweep(json.loads({json.dumps(json.dumps(SMALL))}), {str(out)!r}, progress=False)\n"
    )
    env = {**os.environ, **CACHE_ENV}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser = next(err for rc, err in results if rc != 0)
    # refused when it checked the path, or when it found the other store in place
    assert "already exists" in loser or "was created by another process" in loser, loser[-2000:]
    assert_stores_equal(out, reference_store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr"]
