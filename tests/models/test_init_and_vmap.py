"""Initialisation regimes and construction under vmap (over keys and numeric arguments)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.models import CTRNN, GRU, LSTM, LeakyRateRNN, LowRankRNN, VanillaRNN

N = 256  # N² = 65536 recurrent entries per draw


def _z_std(samples, expected):
    """z-score of a sample std against its expected value (standard error σ/√(2n))."""
    samples = np.asarray(samples).ravel()
    return (samples.std() / expected - 1) * np.sqrt(2 * samples.size)


@pytest.mark.parametrize("init", ["gain", "uniform", "mup"])
def test_recurrent_weight_scale_of_each_regime(init):
    g = 1.5
    model = VanillaRNN(4, N, 2, init=init, gain=g, key=jr.key(0))
    J = np.asarray(model.W_rec)
    W = np.asarray(model.recurrent_weights())
    if init == "gain":
        assert abs(_z_std(J, g / np.sqrt(N))) < 5
    elif init == "uniform":
        assert np.abs(J).max() <= g / np.sqrt(N)
        assert np.abs(model.W_in).max() <= 1 / np.sqrt(4)  # fan-in of the input weights
        assert np.abs(model.b).max() <= 1 / np.sqrt(N)
        assert abs(_z_std(J, g / np.sqrt(3 * N))) < 5
    else:
        # J ~ N(0, g² N) is stored; the dynamics use J / N, of variance g² / N.
        assert abs(_z_std(J, g * np.sqrt(N))) < 5
        assert abs(_z_std(W, g / np.sqrt(N))) < 5
        assert abs(_z_std(model.W_out, 1.0)) < 5 and abs(_z_std(model.W_in, 1.0)) < 5
        assert np.all(np.asarray(model.b) == 0)


def _member(stacked, i):
    return jax.tree.map(lambda x: x[i], stacked)


MAKERS = {
    "CTRNN": lambda k, g: CTRNN(2, 8, 1, dale=True, connectivity=0.5, noise_std=0.1, gain=g, key=k),
    "LeakyRateRNN": lambda k, g: LeakyRateRNN(2, 8, 1, gain=g, key=k),
    "VanillaRNN": lambda k, g: VanillaRNN(2, 8, 1, init="mup", gain=g, key=k),
    "GRU": lambda k, g: GRU(2, 8, 1, gain=g, key=k),
    "LSTM": lambda k, g: LSTM(2, 8, 1, gain=g, key=k),
    "LowRankRNN": lambda k, g: LowRankRNN(2, 8, 1, rank=2, noise_std=g, key=k),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_constructors_vmap_over_keys_and_gain(name):
    """Members (k0, 1), (k1, 1), (k0, 2): keys change the draw, the gain scales it."""
    make = MAKERS[name]
    k0, k1 = jr.split(jr.key(1))
    keys = jnp.stack([k0, k1, k0])
    gains = jnp.array([1.0, 1.0, 2.0])
    stacked = eqx.filter_jit(eqx.filter_vmap(make))(keys, gains)
    first, second, doubled = (_member(stacked, i) for i in range(3))
    assert stacked.W_in.shape == (3,) + first.W_in.shape
    assert not np.array_equal(first.W_in, second.W_in)
    np.testing.assert_array_equal(doubled.W_in, first.W_in)
    if name == "CTRNN":  # a vmapped member equals the model built alone from its key
        single = make(k0, 1.0)
        leaves, ref = jax.tree.leaves(first), jax.tree.leaves(single)
        assert len(leaves) == len(ref)
        for a, b in zip(leaves, ref):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if name == "LowRankRNN":
        np.testing.assert_array_equal(stacked.noise_std, gains)
    else:
        np.testing.assert_array_equal(stacked.gain, gains)
        np.testing.assert_allclose(doubled.recurrent_weights(), 2 * first.recurrent_weights(), rtol=1e-6)
    # The stacked models run as one vmapped program.
    out = eqx.filter_jit(eqx.filter_vmap(lambda m: m(jnp.ones((3, 2))).output))(stacked)
    assert out.shape == (3, 3, 1)


def test_ctrnn_vmaps_over_numeric_arguments():
    key = jr.key(2)

    def make(tau, noise_std, density, fraction, gamma):
        return CTRNN(
            2, 8, 1, tau=tau, noise_std=noise_std, connectivity=density, dale=True,
            excitatory_fraction=fraction, gamma=gamma, key=key,
        )

    tau, noise, gamma = jnp.array([0.5, 1.0, 2.0]), jnp.array([0.0, 0.1, 0.2]), jnp.array([1.0, 2.0, 4.0])
    stacked = eqx.filter_jit(eqx.filter_vmap(make))(
        tau, noise, jnp.array([0.3, 0.6, 1.0]), jnp.array([0.5, 0.75, 0.9]), gamma
    )
    np.testing.assert_array_equal(stacked.tau[:, 0], tau)
    np.testing.assert_array_equal(stacked.noise_std, noise)
    np.testing.assert_array_equal(stacked.gamma, gamma)
    # round(f N) excitatory neurons: 4, 6, 7 of 8.
    np.testing.assert_array_equal((stacked.sign > 0).sum(axis=1), [4, 6, 7])
    assert np.all(stacked.mask[2] == 1) and 0 < stacked.mask[0].mean() < 0.7


def test_leaky_default_tau_is_one_plus_uniform():
    model = LeakyRateRNN(4, N, 2, key=jr.key(4))
    tau = np.asarray(model.tau)
    assert np.all((tau >= 1) & (tau < 2))
    # Mean of U(0, 1): standard error 1/√(12 n), bound z = 5.
    assert abs(tau.mean() - 1.5) < 5 / np.sqrt(12 * tau.size)
