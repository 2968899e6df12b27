import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import neurodyn
import neurodyn.analysis as na
from neurodyn.cli import app
from neurodyn.store._cf import describe

SPEC = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": 0.1},
    "model": {"name": "ctrnn", "hidden_size": 6},
    "train": {
        "learning_rate": 1e-2,
        "n_steps": 8,
        "eval_every": 4,
        "batch_size": 4,
        "eval_batch_size": 4,
    },
    "sweep": {"seeds": 3, "trajectories": 3},
}
SETTINGS = dict(n_initial=16, n_iters=100, max_points=8, progress=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("fp") / "s.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    return out


def _fixed(ds, i):
    keep = np.asarray(ds["valid"].values[i]) & ~np.asarray(ds["slow"].values[i])
    return np.asarray(ds["points"].values[i])[keep]


@pytest.mark.slow  # 1000 iterations at two chunk sizes
def test_results_do_not_depend_on_the_chunk_size(store):
    settings = {**SETTINGS, "n_iters": 1000}  # enough for every candidate to settle
    one = na.fixed_points(store, members_per_chunk=1, replace=True, **settings)
    three = na.fixed_points(store, members_per_chunk=3, replace=True, **settings)
    assert sorted(one) == ["g0"]
    a, b = one["g0"], three["g0"]
    np.testing.assert_array_equal(a["member"].values, b["member"].values)
    # Vmapping 1 or 3 members reorders float sums, so candidates right at the tolerance
    # may be judged differently; the converged fixed points themselves must agree.
    for i in range(a.sizes["member"]):
        pa, pb = _fixed(a, i), _fixed(b, i)
        assert len(pa) > 0 and len(pb) > 0
        for x, others in ((pa, pb), (pb, pa)):
            gaps = np.linalg.norm(x[:, None, :] - others[None, :, :], axis=-1).min(axis=1)
            assert gaps.max() < 1e-3, gaps


def test_stored_results_round_trip_and_rerun_merges_or_replaces(store):
    results = na.fixed_points(store, members_per_chunk=2, replace=True, **SETTINGS)
    sweep = neurodyn.open_sweep(store)
    assert sweep.analyses == ["fixed_points"]
    for g, ds in results.items():
        stored = sweep.analysis("fixed_points", group=g).load()
        xr.testing.assert_identical(stored, describe(ds.load()))
        assert stored["stability"].dtype.kind == "i" and stored.attrs["settings"]["n_initial"] == 16
    merged = sweep.analysis("fixed_points").load()
    assert merged.sizes["member"] == 3
    # Same settings on a selection: the selected member is recomputed and merged in, the
    # others are kept as stored.
    na.fixed_points(store, members_per_chunk=2, selection={"seed": 0}, **SETTINGS)
    again = neurodyn.open_sweep(store).analysis("fixed_points").load()
    assert again.sizes["member"] == 3
    xr.testing.assert_identical(again.sel(member=[1, 2]), merged.sel(member=[1, 2]))
    # Other settings are refused before any work, and nothing stored changes.
    with pytest.raises(ValueError, match=r"other settings \(n_iters: 100 -> 50\).*replace=True"):
        na.fixed_points(store, selection={"seed": 0}, **{**SETTINGS, "n_iters": 50})
    xr.testing.assert_identical(neurodyn.open_sweep(store).analysis("fixed_points").load(), again)
    # replace=True with a selection keeps only what was asked for.
    na.fixed_points(store, members_per_chunk=2, selection={"seed": 0}, replace=True, **SETTINGS)
    assert neurodyn.open_sweep(store).analyses == ["fixed_points"]
    assert neurodyn.open_sweep(store).analysis("fixed_points").sizes["member"] == 1


def test_a_settings_object_is_the_keywords(store):
    first = na.fixed_points(store, members_per_chunk=3, replace=True, **SETTINGS)["g0"]
    search = na.FixedPointSearch(n_initial=16, n_iters=100, max_points=8)
    # the same settings as an object: accepted as the stored ones (a merge, not refused)
    # and computed identically
    again = na.fixed_points(store, settings=search, members_per_chunk=3, progress=False)["g0"]
    xr.testing.assert_identical(again, first)
    stored = neurodyn.open_sweep(store).analysis("fixed_points").attrs["settings"]
    assert {k: stored[k] for k in ("n_initial", "n_iters", "max_points", "connect", "seed")} == {
        "n_initial": 16, "n_iters": 100, "max_points": 8, "connect": True, "seed": 0}
    # keywords replace the object's fields
    with pytest.raises(ValueError, match=r"other settings \(n_iters: 100 -> 7\)"):
        na.fixed_points(store, settings=search, n_iters=7, progress=False)
    with pytest.raises(TypeError, match=r"unknown setting 'n_iter'.*n_iters"):
        na.fixed_points(store, n_iter=7, progress=False)
    with pytest.raises(ValueError, match=r"fixed_points: n_initial"):
        na.FixedPointSearch(n_initial=0)


def test_member_chunk_must_be_positive(store):
    with pytest.raises(ValueError, match="members_per_chunk=0 must be an integer >= 1"):
        na.fixed_points(store, members_per_chunk=0, **SETTINGS)


def test_cli_analyze_writes_the_dataset(store):
    result = CliRunner().invoke(
        app,
        [
            "analyze",
            str(store),
            "--fixed-points",
            "--n-initial",
            "8",
            "--n-iters",
            "50",
            "--select",
            "seed=1",
            "--replace",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fixed points per member" in result.output
    assert neurodyn.open_sweep(store).analysis("fixed_points").sizes["member"] == 1


@pytest.mark.slow  # a second sweep of two widths
def test_groups_of_different_widths_are_joined_with_padding(tmp_path):
    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": [4, 6]},
        "train": {"n_steps": 4, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 1, "trajectories": 2},
    }
    neurodyn.run_sweep(spec, tmp_path / "w.zarr", progress=False)
    na.fixed_points(tmp_path / "w.zarr", n_initial=8, n_iters=50, max_points=4, progress=False)
    merged = neurodyn.open_sweep(tmp_path / "w.zarr").analysis("fixed_points")
    assert merged.sizes["member"] == 2 and merged.sizes["state"] == 6
    assert np.all(np.isnan(merged["points"].sel(member=0).values[:, 4:]))
    assert merged["stability"].dtype.kind == "i"
    assert na.load_fixed_points(tmp_path / "w.zarr", 0).points.shape == (4, 4)
