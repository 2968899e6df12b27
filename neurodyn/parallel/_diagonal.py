"""Analytic diagonals of the step Jacobians ∂ step(s, u)_i / ∂ s_i, per model.

quasi-DEER needs only diag(∂f/∂s). For the cells below it is a few elementwise terms
(one matrix-vector product to rebuild the pre-activation), against `state` Jacobian-
vector products for `jax.jacfwd`. Noise enters as the model draws it, so the diagonal
is the one of the noisy step. A model without an entry here (or a continuous model
integrated with Heun, whose diagonal mixes all units) gets the `jax.jacfwd` diagonal.
A wrong diagonal could only slow convergence: the residual is always `model.step`'s.
"""

import jax
import jax.numpy as jnp
import jax.random as jr

from neurodyn.models import CTRNN, GRU, LSTM, LeakyRateRNN, LowRankRNN, VanillaRNN
from neurodyn.models._activations import get_activation


def _slope(name: str, z):
    """φ'(z) of a pointwise activation, elementwise."""
    return jax.jvp(get_activation(name), (z,), (jnp.ones_like(z),))[1]


def _noise(model, key, shape, dtype):
    if key is None:
        return 0.0
    return model.noise_std * jr.normal(key, shape, dtype=dtype)


def _vanilla(model: VanillaRNN, s, u, key):
    W = model.recurrent_weights()
    z = W @ s + model.W_in @ u
    if model.b is not None:
        z = z + model.b
    z = z + _noise(model, key, z.shape, z.dtype)
    return _slope(model.activation, z) * jnp.diagonal(W)


def _leaky(model: LeakyRateRNN, s, u, key):
    W = model.recurrent_weights()
    z = W @ s + model.W_in @ u + model.b
    z = z + _noise(model, key, z.shape, z.dtype)
    inv = 1.0 / model.effective_tau()
    if model.leak == "post":
        return (1.0 - inv) + inv * _slope(model.activation, z) * jnp.diagonal(W)
    a = (1.0 - inv) * s + inv * z
    return _slope(model.activation, a) * ((1.0 - inv) + inv * jnp.diagonal(W))


def _euler(model, dtarget):
    """diag of s + dt (target(s) − s)/τ, given diag ∂target/∂s."""
    return 1.0 + model.dt * (dtarget - 1.0) / model.effective_tau()


def _ctrnn(model: CTRNN, s, u, key):
    W = model.recurrent_weights()
    if model.formulation == "voltage":
        dtarget = jnp.diagonal(W) * _slope(model.activation, s)
    else:
        a = W @ s + model.W_in @ u + model.b
        dtarget = _slope(model.activation, a) * jnp.diagonal(W)
    return _euler(model, dtarget)


def _lowrank(model: LowRankRNN, s, u, key):
    w_ii = jnp.sum(model.m * model.n, axis=1) / model.hidden_size
    return _euler(model, w_ii * _slope(model.activation, s))


def _sigmoid_slope(p):
    return p * (1.0 - p)


def _gru(model: GRU, s, u, key):
    n = model.hidden_size
    Wr, Wz, Wn = (jnp.diagonal(w) for w in model.recurrent_weights())
    x = model.W_in @ u + model.b
    hh = model.W_rec @ s
    r = jax.nn.sigmoid(x[:n] + hh[:n])
    z = jax.nn.sigmoid(x[n : 2 * n] + hh[n : 2 * n])
    a = x[2 * n :] + r * hh[2 * n :]
    a = a + _noise(model, key, a.shape, a.dtype)
    cand = jnp.tanh(a)
    dr = _sigmoid_slope(r) * Wr
    dz = _sigmoid_slope(z) * Wz
    dcand = (1.0 - cand**2) * (dr * hh[2 * n :] + r * Wn)
    return (1.0 - z) * dcand + dz * (s - cand) + z


def _lstm(model: LSTM, s, u, key):
    n = model.hidden_size
    h, c = model.hidden(s), model.cell(s)
    Wi, Wf, Wg, Wo = (jnp.diagonal(w) for w in model.recurrent_weights())
    gates = model.W_in @ u + model.W_rec @ h + model.b
    i = jax.nn.sigmoid(gates[:n])
    f = jax.nn.sigmoid(gates[n : 2 * n])
    a = gates[2 * n : 3 * n]
    a = a + _noise(model, key, a.shape, a.dtype)
    o = jax.nn.sigmoid(gates[3 * n :])
    g = jnp.tanh(a)
    c_new = f * c + i * g
    tc = jnp.tanh(c_new)
    dc_dh = _sigmoid_slope(f) * Wf * c + _sigmoid_slope(i) * Wi * g + i * (1.0 - g**2) * Wg
    dh_dh = _sigmoid_slope(o) * Wo * tc + o * (1.0 - tc**2) * dc_dh
    return jnp.concatenate([dh_dh, f])


_DISCRETE = {VanillaRNN: _vanilla, LeakyRateRNN: _leaky, GRU: _gru, LSTM: _lstm}
_EULER = {CTRNN: _ctrnn, LowRankRNN: _lowrank}


def analytic_diagonal(model):
    """The function (s, u, key) ↦ diag ∂step/∂s for `model`, or None if there is none."""
    kind = type(model)
    if kind in _DISCRETE:
        return lambda s, u, key: _DISCRETE[kind](model, s, u, key)
    if kind in _EULER and model.solver == "euler":
        return lambda s, u, key: _EULER[kind](model, s, u, key)
    return None
