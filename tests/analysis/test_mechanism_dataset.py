"""The stored form of mechanism results (labelled, round-tripped) and its figures."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import xarray as xr

import neurodyn.analysis as na
from neurodyn.models import VanillaRNN
from neurodyn.store._cf import describe
from neurodyn.store._encoding import prepare

SETTINGS = na.HMMMechanism(
    scales=(0.5, 1.0), n_steps=200, n_samples=10, n_relax=50, n_trace=20, n_time=50, burn_in=10,
    n_continuations=4, max_dwell=20, n_kick=2, mu=(0.0, 1.0, 2.0), n_sequences=8, sequence_length=10,
)


def _fill(shapes, seed):
    """Arrays of the traced shapes and dtypes with made-up values (labels and unit
    indices in 0..3), so the stored form is checked without running the analyses."""
    rng = np.random.default_rng(seed)

    def one(x):
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            return (rng.normal(size=x.shape) + 1j * rng.normal(size=x.shape)).astype(x.dtype)
        if x.dtype == bool:
            return rng.random(x.shape) < 0.5
        if jnp.issubdtype(x.dtype, jnp.integer):
            return rng.integers(0, 4, x.shape).astype(x.dtype)
        return rng.normal(size=x.shape).astype(x.dtype)

    return jax.tree_util.tree_map(one, shapes)


@pytest.fixture(scope="module")
def result():
    model = VanillaRNN(3, 8, 3, activation="relu", bias=False, readout_bias=False, key=jr.key(0))
    shapes = jax.eval_shape(
        lambda k: jax.vmap(lambda kk: na.analyse_mechanism(model, settings=SETTINGS, key=kk))(jr.split(k, 2)),
        jr.key(0),
    )
    train = na.TrainingDynamicsResult(
        eigenvalues=jax.ShapeDtypeStruct((2, 3, 4), jnp.complex64),
        n_unstable=jax.ShapeDtypeStruct((2, 3), jnp.int32),
        radius=jax.ShapeDtypeStruct((2, 3), jnp.float32),
        area=jax.ShapeDtypeStruct((2, 3), jnp.float32),
        relaxed_spread=jax.ShapeDtypeStruct((2, 3), jnp.float32),
        sample_spread=jax.ShapeDtypeStruct((2, 3), jnp.float32),
        collapsed=jax.ShapeDtypeStruct((2, 3), bool),
    )
    res = _fill(shapes, 0)
    res = eqx.tree_at(lambda r: r.global_dynamics.scales, res, np.tile(np.float32([0.5, 1.0]), (2, 1)))
    res = eqx.tree_at(lambda r: r.drive_scaling.mu, res, np.tile(np.float32([0.0, 1.0, 2.0]), (2, 1)))
    return res, _fill(train, 1)


@pytest.fixture(scope="module")
def ds(result):
    res, train = result
    return na.mechanism_to_dataset(
        res, member=np.array([3, 7]), settings=na.settings_dict(SETTINGS), training=train,
        snapshot_step=np.array([0, 10, 20]), snapshot_loss=np.arange(6.0).reshape(2, 3),
    )


def test_results_are_labelled_with_the_stores_dimensions(result, ds):
    res, train = result
    assert list(ds["member"].values) == [3, 7]
    assert list(ds["scale"].values) == [0.5, 1.0] and list(ds["mu"].values) == [0.0, 1.0, 2.0]
    assert list(ds["label"].values) == ["transition", "kick_zone", "cluster", "other"]
    assert ds["residency_label"].dims == ("member", "time") and ds.sizes["time"] == 50
    assert ds["residency_label"].attrs["flag_meanings"] == "transition kick_zone cluster other"
    assert ds["scaling_changes"].dims == ("member", "set", "mu")
    assert ds["units_population_weights"].dims == ("member", "population", "population_")
    eig = ds["linear_eigenvalues_real"].values + 1j * ds["linear_eigenvalues_imag"].values
    np.testing.assert_array_equal(eig, np.asarray(res.linearisation.eigenvalues))
    np.testing.assert_array_equal(ds["global_radius"].values, np.asarray(res.global_dynamics.radius))
    np.testing.assert_array_equal(ds["training_n_unstable"].values, np.asarray(train.n_unstable))
    assert list(ds["snapshot_step"].values) == [0, 10, 20]
    settings = json.loads(ds.attrs["settings"])
    assert settings["residency"]["max_dwell"] == 20 and settings["drive_scaling"]["mu"] == [0.0, 1.0, 2.0]
    assert "Torre" in ds.attrs["reference"]


def test_every_variable_says_what_it_is(ds):
    """Each variable and coordinate has its own long_name, not the store's fallback (the
    name in words) — except those the store's own table names (`member`, `snapshot_step`)."""
    from neurodyn.store._cf import VARIABLES

    assert {"member", "snapshot_step"} <= set(VARIABLES)
    generic = [
        str(n) for n in ds.variables
        if ds[n].attrs.get("long_name", str(n).replace("_", " ")) == str(n).replace("_", " ") and n not in VARIABLES
    ]
    assert not generic, generic
    assert ds["training_eigenvalues_imag"].attrs["long_name"].startswith("imaginary part of the Jacobian")


def test_the_dataset_round_trips_through_zarr(ds, tmp_path):
    prepare(ds).to_zarr(tmp_path / "m.zarr", consolidated=False, zarr_format=3)  # as the store writes
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "m.zarr", consolidated=False).load(), describe(ds))


def test_figures_draw_the_stored_numbers(ds, tmp_path):
    one = ds.sel(member=7)
    fig = na.plot_orbit_size(one)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), one["global_radius"].values)
    fig = na.plot_drive_scaling(one)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), one["scaling_changes"].values[0])
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), one["scaling_changes"].values[1])
    fig = na.plot_unstable(one)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_array_equal(heights, np.nan_to_num(one["linear_mean_unstable"].values))
    fig = na.plot_training_dynamics(one)
    eig = one["training_eigenvalues_real"].values + 1j * one["training_eigenvalues_imag"].values
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), np.abs(eig).max(-1), rtol=1e-6)
    fig = na.plot_dwell(one)
    dwell, output = one["residency_dwell"].values, one["residency_class"].values
    bins = np.arange(0, np.nanmax(dwell) + 2) - 0.5
    drawn = iter(fig.axes[0].patches)
    for c in range(one.sizes["output"]):
        if (output == c).any():
            step = next(drawn).get_xy()  # the outline: each bin's height twice
            np.testing.assert_array_equal(step[1:-1:2, 1][: len(bins) - 1], np.histogram(dwell[output == c], bins)[0])
    fig = na.plot_mechanism(one)
    assert len(fig.axes) == 8  # seven panels and the loss axis
    fig.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 10_000
    bare = na.plot_training_dynamics(one.drop_vars([v for v in one.data_vars if v.startswith("training_")]))
    assert bare.axes[0].texts[0].get_text() == "no parameter snapshots"
    with pytest.raises(ValueError, match=r"member dimension of size 2; plot one member at a time"):
        na.plot_mechanism(ds)


def test_a_subset_of_parts_runs_alone_and_is_stored_and_drawn_as_such(tmp_path):
    # h = (relu(x), relu(-x)) read out as is, W = 0: every Jacobian is 0, nothing unstable
    model = VanillaRNN(1, 2, 2, activation="relu", bias=False, readout_bias=False, key=jr.key(0))
    model = eqx.tree_at(lambda m: m.W_rec, model, jnp.zeros((2, 2)))
    model = eqx.tree_at(lambda m: m.W_in, model, jnp.array([[1.0], [-1.0]]))
    model = eqx.tree_at(lambda m: m.W_out, model, jnp.eye(2))
    small = dict(n_time=30, burn_in=2, n_continuations=4, max_dwell=10, kick_max=4)
    alone = na.analyse_mechanism(model, parts="residency", key=jr.key(1), **small)
    both = na.analyse_mechanism(model, parts=["linearisation"], key=jr.key(1), **small)
    assert alone.global_dynamics is None and alone.linearisation is None and alone.drive_scaling is None
    # a part's results do not depend on which other parts run
    np.testing.assert_array_equal(np.asarray(alone.residency.dwell), np.asarray(both.residency.dwell))
    np.testing.assert_array_equal(np.asarray(both.linearisation.n_unstable), 0)
    stacked = jax.tree_util.tree_map(lambda x: x[None], both)
    ds = na.mechanism_to_dataset(stacked, member=np.array([5]))
    assert sorted({v.split("_")[0] for v in ds.data_vars}) == ["linear", "residency"]
    assert "scale" not in ds.coords and "mu" not in ds.coords
    prepare(ds).to_zarr(tmp_path / "p.zarr", consolidated=False, zarr_format=3)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "p.zarr", consolidated=False).load(), describe(ds))
    fig = na.plot_mechanism(ds.sel(member=5))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("not computed") == 3 and "no parameter snapshots" in texts
