"""LowRankRNN: the factorised dynamics equal the dense rank-R network."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from neurodyn.models import LowRankRNN


def test_lowrank_vector_field_and_readout_match_dense_formulas():
    with jax.enable_x64(True):
        n, rank = 12, 2
        model = LowRankRNN(3, n, 2, rank=rank, tau=np.linspace(0.5, 1.0, n), key=jr.key(0))
        m, nv = np.asarray(model.m), np.asarray(model.n)
        W = np.asarray(model.recurrent_weights())
        np.testing.assert_allclose(W, m @ nv.T / n, rtol=1e-13)
        assert np.linalg.matrix_rank(W) == rank
        np.testing.assert_array_equal(model.penalised_weights()["W_rec"], W)
        h, u = np.linspace(-2, 2, n), np.array([0.5, -1.0, 0.25])
        expected = (-h + W @ np.tanh(h) + np.asarray(model.W_in) @ u) / np.asarray(model.tau)
        np.testing.assert_allclose(model.vector_field(0.0, jnp.asarray(h), jnp.asarray(u)), expected, rtol=1e-12)
        np.testing.assert_allclose(model.readout(jnp.asarray(h)), np.asarray(model.W_out) @ np.tanh(h) / n, rtol=1e-12)


def test_lowrank_runs_and_its_noise_follows_the_key():
    model = LowRankRNN(1, 10, 1, rank=1, noise_std=0.3, key=jr.key(1))
    x = jnp.ones((15, 1))
    a, b = model(x, key=jr.key(2)), model(x, key=jr.key(2))
    assert np.array_equal(a.state, b.state) and not np.array_equal(a.state, model(x).state)
    np.testing.assert_allclose(model.diffusion(), 0.3 * np.sqrt(2.0), rtol=1e-6)
    assert model.trainable().tau is False and model.trainable().m is True
