"""A store written by neurodyn 0.1.0 (tests/data/store_0.1.0.zip, from the spec beside
it) opens, verifies, rebuilds its models and is analysed by today's code."""

import pathlib
import zipfile

import numpy as np
import pytest
import zarr

import neurodyn
import neurodyn.analysis as na
from neurodyn import store

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def old_store(tmp_path):
    with zipfile.ZipFile(DATA / "store_0.1.0.zip") as z:
        z.extractall(tmp_path)
    return tmp_path / "store.zarr"


def test_a_store_of_0_1_0_opens_verifies_and_is_analysed(old_store):
    sweep = neurodyn.open_sweep(old_store)
    assert sweep.members.sizes["member"] == 2
    assert list(np.asarray(sweep.members["status"].values)) == ["ok", "ok"]
    assert not sweep.damaged
    assert store.verify_store(old_store).ok
    raw = zarr.open_group(str(old_store), mode="r")["groups/g0/final_W_rec"][:]
    for m in range(2):
        np.testing.assert_array_equal(np.asarray(sweep.model(m).W_rec), raw[m])
    results = na.fixed_points(old_store, n_initial=8, n_iters=20, max_points=4, progress=False)
    assert results["g0"].sizes["member"] == 2
    assert neurodyn.open_sweep(old_store).analyses == ["fixed_points"]
