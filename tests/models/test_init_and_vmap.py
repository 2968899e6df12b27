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


def _leaves_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb))


@pytest.mark.parametrize(
    "make",
    [
        lambda k: CTRNN(2, 8, 1, dale=True, connectivity=0.5, noise_std=0.1, key=k),
        lambda k: LeakyRateRNN(2, 8, 1, key=k),
        lambda k: VanillaRNN(2, 8, 1, init="mup", key=k),
        lambda k: GRU(2, 8, 1, key=k),
        lambda k: LSTM(2, 8, 1, key=k),
        lambda k: LowRankRNN(2, 8, 1, rank=2, key=k),
    ],
    ids=["CTRNN", "LeakyRateRNN", "VanillaRNN", "GRU", "LSTM", "LowRankRNN"],
)
def test_constructors_vmap_over_keys(make):
    keys = jr.split(jr.key(1), 3)
    stacked = eqx.filter_vmap(make)(keys)
    single = make(keys[1])
    assert stacked.W_in.shape == (3,) + single.W_in.shape
    member = jax.tree.map(lambda x: x[1], stacked)
    assert _leaves_equal(member, single)
    assert not np.array_equal(stacked.W_in[0], stacked.W_in[1])
    # The stacked models run as one vmapped program.
    out = eqx.filter_vmap(lambda m: m(jnp.ones((4, 2))).output)(stacked)
    assert out.shape == (3, 4, 1)


def test_ctrnn_vmaps_over_numeric_arguments():
    key = jr.key(2)

    def make(gain, tau, noise_std, density, fraction, gamma):
        return CTRNN(
            2, 10, 1, gain=gain, tau=tau, noise_std=noise_std, connectivity=density,
            dale=True, excitatory_fraction=fraction, gamma=gamma, key=key,
        )

    gains = jnp.array([0.5, 1.0, 2.0])
    stacked = eqx.filter_vmap(make)(
        gains, jnp.array([0.5, 1.0, 2.0]), jnp.array([0.0, 0.1, 0.2]),
        jnp.array([0.3, 0.6, 1.0]), jnp.array([0.5, 0.8, 0.9]), jnp.array([1.0, 2.0, 4.0]),
    )
    np.testing.assert_array_equal(stacked.gain, gains)
    np.testing.assert_array_equal(stacked.tau[:, 0], [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(stacked.sign.sum(axis=1), [0.0, 6.0, 8.0])
    assert stacked.mask.shape == (3, 10, 10) and np.all(stacked.mask[2] == 1)
    # The gain scales the same underlying draw (balance factors aside, fractions differ).
    base = make(1.0, 1.0, 0.0, 1.0, 0.5, 1.0)
    np.testing.assert_allclose(jax.tree.map(lambda x: x[0], stacked).W_rec / 0.5 * stacked.mask[0],
                               base.W_rec * stacked.mask[0], rtol=1e-6)


@pytest.mark.parametrize("cls", [VanillaRNN, LeakyRateRNN, GRU, CTRNN])
def test_gain_vmap_scales_recurrent_weights(cls):
    gains = jnp.array([0.5, 2.0])
    stacked = eqx.filter_vmap(lambda g: cls(2, 8, 1, gain=g, key=jr.key(3)))(gains)
    unit = cls(2, 8, 1, gain=1.0, key=jr.key(3))
    for i, g in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(stacked.W_rec[i], g * unit.W_rec, rtol=1e-6)
        np.testing.assert_array_equal(stacked.W_in[i], unit.W_in)


def test_leaky_default_tau_is_one_plus_uniform():
    model = LeakyRateRNN(1, 2000, 1, key=jr.key(4))
    tau = np.asarray(model.tau)
    assert np.all((tau >= 1) & (tau < 2))
    # Mean of U(0, 1): standard error 1/√(12 n), bound z = 5.
    assert abs(tau.mean() - 1.5) < 5 / np.sqrt(12 * tau.size)
