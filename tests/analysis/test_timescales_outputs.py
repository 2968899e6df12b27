"""Learned τ, network timescales from Jacobian spectra, the dataset and the figures."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import xarray as xr
from jaxtyping import Array, Float
from matplotlib.figure import Figure

from neurodyn.analysis import (
    BinaryInput,
    TimescaleResult,
    autocorrelation_timescales,
    fit_autocorrelation,
    jacobian,
    learned_tau,
    network_timescales,
    plot_autocorrelation,
    plot_network_timescales,
    plot_tau_distributions,
    silence,
    summarise_timescales,
    tau_statistics,
    timescales_to_dataset,
)
from neurodyn.models import (
    CTRNN,
    AbstractContinuousRNN,
    AbstractDiscreteRNN,
    LeakyRateRNN,
    VanillaRNN,
)


class DiagonalMap(AbstractDiscreteRNN):
    """h ← A h + u with a fixed matrix A."""

    A: Float[Array, "hidden hidden"]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)

    def __init__(self, A):
        self.A = jnp.asarray(A, dtype=float)
        self.input_size = self.hidden_size = self.A.shape[0]
        self.output_size = 1

    def step(self, state, u, *, key=None):
        return self.A @ state + u

    def readout(self, state):
        return state[:1]


class LinearField(AbstractContinuousRNN):
    """dh/dt = A h + u."""

    A: Float[Array, "hidden hidden"]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(static=True)

    def __init__(self, A):
        self.A = jnp.asarray(A, dtype=float)
        self.input_size = self.hidden_size = self.A.shape[0]
        self.output_size, self.dt, self.solver = 1, 0.1, "euler"

    def vector_field(self, t, state, u):
        return self.A @ state + u

    def readout(self, state):
        return state[:1]


def _eigenvalues(model):
    jac = jacobian(model, jnp.zeros(model.hidden_size), jnp.zeros(model.input_size))
    return jnp.linalg.eig(jac)[0]


def test_network_timescales_of_diagonal_systems_are_exact():
    tau = jnp.array([0.5, 2.0, 10.0, 40.0])
    continuous = network_timescales(_eigenvalues(LinearField(jnp.diag(-1.0 / tau))), continuous=True)
    np.testing.assert_allclose(jnp.sort(continuous), tau, rtol=1e-5)
    a = jnp.exp(-1.0 / tau)  # an AR(1) with coefficient a has τ = −1/ln a steps
    discrete = network_timescales(_eigenvalues(DiagonalMap(jnp.diag(a))), continuous=False)
    np.testing.assert_allclose(jnp.sort(discrete), tau, rtol=1e-5)
    np.testing.assert_allclose(
        jnp.sort(network_timescales(a.astype(complex), continuous=False, dt=0.1)),
        0.1 * tau, rtol=1e-5,
    )


def test_network_timescales_of_rotations_and_growing_modes():
    alpha, omega, r = 0.25, 3.0, 0.8
    block = jnp.array([[-alpha, -omega], [omega, -alpha]])  # λ = −α ± iω
    np.testing.assert_allclose(network_timescales(jnp.linalg.eig(block)[0], continuous=True), [4.0, 4.0], rtol=1e-5)
    rot = r * jnp.array([[jnp.cos(1.0), -jnp.sin(1.0)], [jnp.sin(1.0), jnp.cos(1.0)]])
    np.testing.assert_allclose(
        network_timescales(jnp.linalg.eig(rot)[0], continuous=False), -1 / np.log(r) * np.ones(2), rtol=1e-5
    )
    lam = jnp.array([0.5 + 0j, -0.5 + 0j, jnp.nan])
    out = network_timescales(lam, continuous=True)
    np.testing.assert_allclose(out[:2], [-2.0, 2.0])  # growing: negative, |τ| = e-folding time
    assert np.isnan(out[2])
    fp_eig = jnp.stack([lam, lam * 2])
    assert network_timescales(fp_eig, continuous=False).shape == (2, 3)


def test_learned_tau_of_the_models():
    leaky = LeakyRateRNN(2, 4, 2, tau=jnp.array([1.0, 1.5, 2.0, 8.0]), key=jr.key(0))
    np.testing.assert_allclose(learned_tau(leaky), [1.0, 1.5, 2.0, 8.0])
    below = eqx.tree_at(lambda m: m.tau, leaky, jnp.array([0.5, 1.5, 2.0, 8.0]))
    np.testing.assert_allclose(learned_tau(below), [1.0, 1.5, 2.0, 8.0])  # as the dynamics use it
    np.testing.assert_allclose(learned_tau(silence(leaky, jnp.zeros(4, bool))), learned_tau(leaky))
    ct = CTRNN(2, 4, 2, tau=2.0, dt=0.1, key=jr.key(1))
    np.testing.assert_allclose(learned_tau(ct), 2.0)
    np.testing.assert_allclose(learned_tau(ct, in_steps=True), 20.0, rtol=1e-6)
    with pytest.raises(ValueError, match="VanillaRNN has no `tau` field"):
        learned_tau(VanillaRNN(2, 4, 2, key=jr.key(2)))


def test_tau_statistics_match_numpy_and_vmap():
    tau = jnp.array([1.0, 2.0, 3.0, 4.0, 100.0, jnp.nan])
    s = tau_statistics(tau, edges=jnp.array([0.5, 2.5, 10.0, 1000.0]))
    finite = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    np.testing.assert_allclose([s.mean, s.median, s.std], [finite.mean(), 3.0, finite.std()], rtol=1e-6)
    np.testing.assert_allclose(s.quantiles, np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95]), rtol=1e-6)
    np.testing.assert_array_equal(s.counts, [2, 2, 1])
    batched = jax.vmap(tau_statistics)(jnp.stack([tau, 2 * tau]))
    assert batched.counts.shape == (2, 60)
    np.testing.assert_allclose(batched.median, [3.0, 6.0])


@functools.cache
def _result(n_member=2, n_hidden=3, n_lag=41):
    """Member-stacked results of exact exponentials (fitted in one call)."""
    k = jnp.arange(n_lag, dtype=float)
    taus = jnp.linspace(0.5, 6.0, n_member * n_hidden).reshape(n_member, n_hidden)
    rho = jnp.exp(-k[None, :, None] / taus[:, None, :])
    pop = jnp.exp(-k / 4.0)[None].repeat(n_member, 0)
    both = jnp.concatenate([rho, pop[..., None]], axis=2)  # [member, lag, hidden + 1]
    fits = fit_autocorrelation(both.transpose(1, 0, 2))  # units: [member, hidden + 1]
    fit = jax.tree.map(lambda x: x[:, :-1], fits)
    pop_fit = jax.tree.map(lambda x: x[:, -1], fits)
    return TimescaleResult(rho, pop, fit, pop_fit, taus.at[0, 0].set(jnp.nan))


def test_dataset_uses_the_store_vocabulary_and_round_trips(tmp_path):
    result = _result()
    net = jnp.full((2, 4, 3), jnp.nan).at[:, :2].set(jnp.array([1.0, 2.0, 3.0]))
    ds = timescales_to_dataset(
        result, network_tau=net, member={"seed": [0, 1], "N": [2, 4]},
        settings={"n_steps": 1000, "input": "BinaryInput()"},
    )
    assert ds["tau_net"].dims == ("member", "hidden")
    assert ds["fit_choice"].dtype == np.int32 and set(np.unique(ds["fit_choice"])) <= {-1, 0, 1}
    assert ds["autocorrelation"].dims == ("member", "lag", "hidden")
    assert ds["population_autocorrelation"].dims == ("member", "lag")
    assert ds["network_tau"].dims == ("member", "fp", "eig")
    np.testing.assert_array_equal(ds["lag"], np.arange(41))
    np.testing.assert_array_equal(ds["N"], [2, 4])
    # τ_net ≤ 1 is left out of the summaries: member 0 has τ = 0.5, 1.6, 2.7.
    np.testing.assert_allclose(ds["tau_net_mean"][0], (1.6 + 2.7) / 2, rtol=1e-3)
    np.testing.assert_array_equal(ds["n_valid_units"], [2, 3])
    ds.to_zarr(tmp_path / "t.zarr", mode="w", consolidated=False)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "t.zarr", consolidated=False).load(), ds)


def test_dataset_refuses_unstacked_results():
    one = jax.tree.map(lambda x: x[0], _result())
    with pytest.raises(ValueError, match="result must have a leading member axis"):
        timescales_to_dataset(one)


def test_figures(tmp_path):
    result = _result()
    fig = plot_tau_distributions({"N=2": result.fit.tau_net[0], "N=4": result.fit.tau_net[1]})
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) == 2
    fig = plot_tau_distributions({"a": np.array([2.0, 3.0]), "b": np.array([0.5])}, kind="violin")
    assert isinstance(fig, Figure)
    fit0 = jax.tree.map(lambda x: x[0], result.fit)
    assert fit0.tau_net.shape == result.autocorrelation.shape[2:]
    fig = plot_autocorrelation(result.autocorrelation[0], fit0, fit_lag=30)
    assert len(fig.axes[0].lines) == 6 and fig.axes[0].get_yscale() == "log"
    pop0 = jax.tree.map(lambda x: x[0], result.population_fit)
    assert len(plot_autocorrelation(result.population_autocorrelation[0], pop0).axes[0].lines) == 2
    lam = jnp.array([[0.9, 0.5 + 0.3j, 0.5 - 0.3j], [jnp.nan] * 3])
    fig = plot_network_timescales(lam, continuous=False)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 1
    fig.savefig(tmp_path / "spectra.png")  # no pyplot, no backend set: still saves
    assert (tmp_path / "spectra.png").stat().st_size > 0
    with pytest.raises(ValueError, match="kind='box' is not one of"):
        plot_tau_distributions({}, kind="box")


def _leaky_sweep(n_member, hidden, n_steps, max_lag, chunk_size=2000):
    """Members of a LeakyRateRNN sweep driven by random binary input, as the store driver does."""
    keys = jr.split(jr.key(30), n_member)
    models = eqx.filter_vmap(lambda k: LeakyRateRNN(1, hidden, 2, gain=0.9, init="gain", key=k))(keys)
    run = lambda m, k: autocorrelation_timescales(
        m, BinaryInput(), n_steps=n_steps, burn_in=200, key=k, max_lag=max_lag, chunk_size=chunk_size
    )
    return models, eqx.filter_vmap(run)(models, jr.split(jr.key(31), n_member))


def test_leaky_rnn_end_to_end_to_dataset(tmp_path):
    models, result = _leaky_sweep(2, 12, 4000, 40)
    assert result.autocorrelation.shape == (2, 41, 12)
    np.testing.assert_allclose(result.autocorrelation[:, 0], 1.0, rtol=1e-5)
    np.testing.assert_allclose(result.learned_tau, jnp.maximum(models.tau, 1.0))
    assert np.all(np.asarray(result.fit.choice) >= 0)
    ds = timescales_to_dataset(result, settings={"n_steps": 4000})
    assert ds.sizes == {"member": 2, "hidden": 12, "lag": 41}
    ds.to_zarr(tmp_path / "t.zarr", mode="w", consolidated=False)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "t.zarr", consolidated=False).load(), ds)


@pytest.mark.slow
def test_leaky_rnn_long_run():
    """10⁵ steps of 64-unit networks, streamed in chunks: nothing of size n_steps is kept,
    the streamed estimate stays normalised, and two chunkings (which draw different input
    streams, one key per chunk) give the same autocorrelations up to estimation noise."""
    models, result = _leaky_sweep(2, 64, 100_000, 100)
    _, coarse = _leaky_sweep(2, 64, 100_000, 100, chunk_size=12_500)
    acf = np.asarray(result.autocorrelation)
    assert np.all(np.isfinite(acf))
    np.testing.assert_allclose(acf[:, 0], 1.0, rtol=1e-5)
    assert np.all(np.abs(acf) <= 1.0 + 1e-5)
    # independent 1e5-step estimates: measured largest difference 0.020 over all lags and units
    np.testing.assert_allclose(acf, np.asarray(coarse.autocorrelation), atol=0.06)
    s = jax.vmap(summarise_timescales)(result.fit.tau_net)
    assert np.all(np.asarray(s.n_valid) >= 1) and np.all(np.isfinite(np.asarray(s.median)))


def test_dataset_checks_network_tau_shape():
    with pytest.raises(ValueError, match=r"network_tau must be \[member, fp, eig\] with 2 members"):
        timescales_to_dataset(_result(), network_tau=np.zeros((3, 4)))
