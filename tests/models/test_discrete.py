"""Discrete models against hand-computed numpy steps, and their exact identities."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.models import GRU, LSTM, LeakyRateRNN, VanillaRNN

N_IN, N, N_OUT, T = 2, 8, 1, 5
# float32 models against float64 numpy: agreement to float32 rounding.
TOL = dict(rtol=2e-5, atol=2e-6)


def _np(model):
    return jax.tree.map(lambda x: np.asarray(x, dtype=np.float64), model)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _leaky_relu(x):
    return np.where(x > 0, x, 0.01 * x)


def _roll(step, h, inputs):
    states = []
    for u in np.asarray(inputs, dtype=np.float64):
        h = step(h, u)
        states.append(h)
    return np.stack(states)


@pytest.fixture(scope="module")
def inputs():
    return 2.0 * jr.normal(jr.key(100), (T, N_IN))


def test_vanilla_matches_numpy(inputs):
    model = VanillaRNN(N_IN, N, N_OUT, key=jr.key(0))
    p = _np(model)
    expected = _roll(lambda h, u: np.tanh(p.W_rec @ h + p.W_in @ u + p.b), np.zeros(N), inputs)
    traj = model(inputs)
    np.testing.assert_allclose(traj.state, expected, **TOL)
    np.testing.assert_allclose(traj.output, expected @ p.W_out.T + p.b_out, **TOL)


def test_vanilla_mup_matches_numpy(inputs):
    model = VanillaRNN(N_IN, N, N_OUT, init="mup", gamma=3.0, key=jr.key(1))
    p = _np(model)
    J, U = p.W_rec, p.W_in
    expected = _roll(lambda h, u: np.tanh(J @ h / N + U @ u + p.b), np.zeros(N), inputs)
    traj = model(inputs)
    np.testing.assert_allclose(traj.state, expected, **TOL)
    np.testing.assert_allclose(traj.output, expected @ p.W_out.T / (3.0 * N) + p.b_out, **TOL)
    np.testing.assert_allclose(model.penalised_weights()["W_rec"], J / N, rtol=1e-6)


@pytest.mark.parametrize("leak", ["post", "pre"])
def test_leaky_rate_matches_numpy(leak, inputs):
    model = LeakyRateRNN(N_IN, N, N_OUT, leak=leak, key=jr.key(2))
    p = _np(model)
    assert np.all(np.diag(p.W_rec) == 0) and np.all((p.tau >= 1) & (p.tau <= 2))
    W, a = p.W_rec, 1 / p.tau

    def step(r, u):
        z = W @ r + p.W_in @ u + p.b
        if leak == "post":
            return (1 - a) * r + a * _leaky_relu(z)
        return _leaky_relu((1 - a) * r + a * z)

    expected = _roll(step, np.zeros(N), inputs)
    traj = model(inputs)
    np.testing.assert_allclose(traj.state, expected, **TOL)
    np.testing.assert_allclose(traj.output, expected @ p.W_out.T + p.b_out, **TOL)


@pytest.mark.parametrize("leak", ["post", "pre"])
def test_leaky_rate_with_tau_one_is_exactly_vanilla(leak, inputs):
    leaky = LeakyRateRNN(N_IN, N, N_OUT, leak=leak, tau=1.0, key=jr.key(3))
    vanilla = VanillaRNN(N_IN, N, N_OUT, activation="leaky_relu", key=jr.key(4))
    vanilla = eqx.tree_at(
        lambda m: (m.W_rec, m.W_in, m.b, m.W_out, m.b_out),
        vanilla,
        (leaky.recurrent_weights(), leaky.W_in, leaky.b, leaky.W_out, leaky.b_out),
    )
    a, b = leaky(inputs), vanilla(inputs)
    assert np.array_equal(a.state, b.state) and np.array_equal(a.output, b.output)
    assert np.any(np.asarray(a.state) < 0)  # the leaky branch of the activation is exercised


def test_leaky_tau_is_clamped_at_one(inputs):
    model = LeakyRateRNN(N_IN, N, N_OUT, key=jr.key(5))
    low = eqx.tree_at(lambda m: m.tau, model, jnp.full(N, 0.3))
    one = eqx.tree_at(lambda m: m.tau, model, jnp.ones(N))
    assert np.array_equal(low(inputs).state, one(inputs).state)
    assert np.array_equal(low.constrain().tau, one.tau)
    assert "tau" not in model.non_trainable
    assert "tau" in LeakyRateRNN(N_IN, N, N_OUT, train_tau=False, key=jr.key(5)).non_trainable


def test_gru_matches_numpy(inputs):
    model = GRU(N_IN, N, N_OUT, key=jr.key(6))
    p = _np(model)

    def step(h, u):
        x, hh = p.W_in @ u + p.b, p.W_rec @ h
        r = _sigmoid(x[:N] + hh[:N])
        z = _sigmoid(x[N : 2 * N] + hh[N : 2 * N])
        n = np.tanh(x[2 * N :] + r * hh[2 * N :])
        return (1 - z) * n + z * h

    expected = _roll(step, np.zeros(N), inputs)
    traj = model(inputs)
    np.testing.assert_allclose(traj.state, expected, **TOL)
    np.testing.assert_allclose(traj.output, expected @ p.W_out.T + p.b_out, **TOL)
    assert model.recurrent_weights().shape == (3, N, N)


def test_lstm_matches_numpy(inputs):
    model = LSTM(N_IN, N, N_OUT, key=jr.key(7))
    p = _np(model)

    def step(state, u):
        h, c = state[:N], state[N:]
        g = p.W_in @ u + p.W_rec @ h + p.b
        i, f, a, o = (g[k * N : (k + 1) * N] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(a)
        return np.concatenate([_sigmoid(o) * np.tanh(c), c])

    expected = _roll(step, np.zeros(2 * N), inputs)
    traj = model(inputs)
    assert model.state_size == 2 * N and traj.state.shape == (T, 2 * N)
    np.testing.assert_allclose(traj.state, expected, **TOL)
    np.testing.assert_allclose(traj.output, expected[:, :N] @ p.W_out.T + p.b_out, **TOL)
    np.testing.assert_array_equal(model.hidden(traj.state[-1]), traj.state[-1, :N])
    assert model.recurrent_weights().shape == (4, N, N)


def test_bias_free_relu_trajectory_scales_exactly_with_input(inputs):
    """docs/studies/hmm-emulation.md: no biases, h0 = 0, ReLU: scaling x by 2 scales h and y by 2, bit for bit."""
    model = VanillaRNN(
        N_IN, N, N_OUT, activation="relu", bias=False, readout_bias=False, key=jr.key(8)
    )
    assert model.b is None and model.b_out is None
    a, b = model(inputs), model(2.0 * inputs)
    assert np.array_equal(2.0 * a.state, b.state) and np.array_equal(2.0 * a.output, b.output)
    assert np.any(np.asarray(a.state) > 0)


@pytest.mark.parametrize("cls", [VanillaRNN, LeakyRateRNN, GRU, LSTM])
def test_discrete_noise_is_key_deterministic(cls, inputs):
    model = cls(N_IN, N, N_OUT, noise_std=0.5, key=jr.key(10))
    run = eqx.filter_jit(lambda m, k: m(inputs, key=k).state)
    a, b, c = run(model, jr.key(1)), run(model, jr.key(1)), run(model, jr.key(2))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    deterministic = model(inputs).state
    assert np.array_equal(model(inputs).state, deterministic)
    quiet = eqx.tree_at(lambda m: m.noise_std, model, jnp.asarray(0.0))
    np.testing.assert_allclose(run(quiet, jr.key(1)), deterministic, atol=1e-6)
