"""Small models of every kind for the parallel-evaluation tests, as fixtures.

Built inside the caller's dtype context (float64 under `jax.enable_x64(True)`), with
process noise so that tests given a key also check the noise draws. Gains keep the
networks contractive or near the edge, where the parallel solve converges in few steps.
"""

import equinox as eqx
import jax.random as jr
import pytest

from neurodyn.models import CTRNN, GRU, LSTM, LeakyRateRNN, LowRankRNN, VanillaRNN

N_IN, N, N_OUT = 2, 4, 1

FACTORIES = {
    "vanilla": lambda key: VanillaRNN(N_IN, N, N_OUT, init="gain", gain=0.9, noise_std=0.1, train_h0=True, key=key),
    "leaky_post": lambda key: LeakyRateRNN(N_IN, N, N_OUT, leak="post", noise_std=0.1, key=key),
    "leaky_pre": lambda key: LeakyRateRNN(N_IN, N, N_OUT, leak="pre", activation="tanh", noise_std=0.1, key=key),
    "gru": lambda key: GRU(N_IN, N, N_OUT, noise_std=0.1, key=key),
    "lstm": lambda key: LSTM(N_IN, N, N_OUT, noise_std=0.1, key=key),
    "ctrnn_voltage_euler": lambda key: CTRNN(N_IN, N, N_OUT, tau=[1.0, 0.5, 2.0, 1.0], noise_std=0.1, train_tau=True, key=key),
    "ctrnn_rate_heun": lambda key: CTRNN(N_IN, N, N_OUT, formulation="rate", solver="heun", dale=True, noise_std=0.1, key=key),
    "lowrank_euler": lambda key: LowRankRNN(N_IN, N, N_OUT, rank=2, noise_std=0.1, key=key),
    "lowrank_heun": lambda key: LowRankRNN(N_IN, N, N_OUT, rank=1, solver="heun", noise_std=0.1, key=key),
}


def build(name: str, seed: int = 0):
    return FACTORIES[name](jr.key(seed))


def inputs_for(n_time: int, seed: int = 1):
    return jr.normal(jr.key(seed), (n_time, N_IN))


@pytest.fixture(params=sorted(FACTORIES))
def model_name(request):
    """Every model kind, one test each."""
    return request.param


@pytest.fixture
def make_model():
    """build(name, seed=0) -> a small model in the current dtype context."""
    return build


@pytest.fixture
def make_inputs():
    """inputs_for(n_time, seed=1) -> `[time, input]` standard normal inputs."""
    return inputs_for


@eqx.filter_jit
def _scanned(model, inputs, key, state0):
    return model(inputs, key=key, state0=state0)


@pytest.fixture(scope="session")
def scan():
    """scan(model, inputs, key=None, state0=None) -> `model(inputs)`, compiled once per
    model structure (gains and weights are leaves), the reference of every test."""
    return lambda model, inputs, key=None, state0=None: _scanned(model, inputs, key, state0)
