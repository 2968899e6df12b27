"""Degeneracy datasets: store vocabulary, per-condition summaries, zarr round trip, figures."""

import json

import matplotlib
import numpy as np
import pytest
import xarray as xr

from neurodyn.analysis import (
    degeneracy_to_dataset,
    mds,
    pairs_to_matrix,
    plot_degeneracy,
    plot_distance_matrix,
    plot_mds,
    select_pairs,
)
from neurodyn.store._cf import describe
from neurodyn.store._encoding import prepare

matplotlib.use("Agg")

CONDITIONS = [(64, "l1"), (64, "l1"), (64, "l1"), (128, "none"), (128, "none")]


def _dataset():
    pairs = select_pairs(CONDITIONS)  # (0,1), (0,2), (1,2), (3,4)
    weights = pairs_to_matrix([1.0, 2.0, 3.0, 10.0], pairs, 5)
    everything = select_pairs(CONDITIONS, within_condition=False)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(5, 2))
    dsa = pairs_to_matrix(
        [np.linalg.norm(points[i] - points[j]) for i, j in everything], everything, 5
    )
    return degeneracy_to_dataset(
        {"weight_distance": weights, "dsa_distance": dsa},
        conditions=CONDITIONS,
        members=[10, 11, 12, 13, 14],
        member_coords={"hidden_size": [64, 64, 64, 128, 128], "seed": [0, 1, 2, 0, 1]},
        per_member={"weight_change": [1.0, 2.0, np.nan, 4.0, 6.0]},
        ood_loss=[1.0, 2.0, 3.0, 10.0, 20.0],
        settings={"rank": 4, "levels": ["dynamics", "weights"]},
    )


def test_dataset_uses_the_store_vocabulary_and_summarises_per_condition():
    ds = _dataset()
    assert ds["weight_distance"].dims == ("member", "member_")
    assert ds["weight_change"].dims == ("member",)
    assert ds["sigma_ood"].dims == ("condition",)
    assert ds["condition"].values.tolist() == ["64, l1", "128, none"]
    assert ds["member_condition"].values.tolist() == [0, 0, 0, 1, 1]
    assert ds["member"].values.tolist() == ds["member_"].values.tolist() == [10, 11, 12, 13, 14]
    assert ds["hidden_size"].dims == ("member",)
    np.testing.assert_allclose(ds["weight_distance_mean"], [2.0, 10.0])
    np.testing.assert_array_equal(ds["weight_distance_n_pairs"], [3, 1])
    np.testing.assert_allclose(ds["weight_change_mean"], [1.5, 5.0])  # NaN left out
    np.testing.assert_allclose(ds["sigma_ood"], [1.0, np.sqrt(50.0)])
    assert json.loads(ds.attrs["settings"]) == {"levels": ["dynamics", "weights"], "rank": 4}
    assert ds.attrs["analysis"] == "degeneracy" and "neurodyn_version" in ds.attrs


def test_dataset_round_trips_through_zarr(tmp_path):
    """Written the way the store writes (fixed-length strings, CF attributes)."""
    ds = _dataset()
    prepare(ds).to_zarr(tmp_path / "d.zarr", mode="w", consolidated=False, zarr_format=3)
    back = xr.open_zarr(tmp_path / "d.zarr", consolidated=False).load()
    xr.testing.assert_identical(back, describe(ds))  # with the store's CF attributes


def test_dataset_refuses_inconsistent_inputs():
    with pytest.raises(ValueError, match=r"one entry per member, got member counts \[2, 3\]"):
        degeneracy_to_dataset({"d": np.zeros((3, 3))}, conditions=["a", "b"])
    with pytest.raises(ValueError, match=r"matrix 'd' must be \[member, member_\] = \(3, 3\)"):
        degeneracy_to_dataset({"d": np.zeros((3, 2))})


def test_mds_recovers_planar_distances():
    points = np.random.default_rng(1).normal(size=(6, 2))
    D = np.linalg.norm(points[:, None] - points[None], axis=-1)
    xy = mds(D)
    np.testing.assert_allclose(np.linalg.norm(xy[:, None] - xy[None], axis=-1), D, atol=1e-9)
    with pytest.raises(ValueError, match="missing"):
        mds(np.full((2, 2), np.nan))


def test_figures_draw_complete_and_within_condition_matrices():
    import matplotlib.pyplot as plt

    ds = _dataset()
    ax = plot_distance_matrix(ds, "weight_distance", order_by="seed")
    assert ax.get_title() == "weight_distance"
    ax = plot_mds(ds, "weight_distance", color_by="seed")
    assert "per condition" in ax.get_title()
    ax = plot_mds(ds, "dsa_distance")
    assert "per condition" not in ax.get_title()
    similarity = ds.assign(cka=1.0 - ds["dsa_distance"] / 10.0)
    assert plot_mds(similarity, "cka").get_title() == "MDS of 1 − cka"
    fig = plot_degeneracy(ds, color_by="hidden_size")
    assert len(fig.axes) >= 4
    with pytest.raises(ValueError, match="'sigma_ood' is not a \\(member, member_\\) matrix"):
        plot_distance_matrix(ds, "sigma_ood")
    plt.close("all")
