"""Pointwise nonlinearities shared by the models, looked up by name.

Models store the activation's name as a static field (it changes the compiled program)
and look the function up here when they run.
"""

import jax
import jax.numpy as jnp

from neurodyn import _checks


def _leaky_relu(x):
    # The slope of the timescales study (Khajehabdollahi et al. 2024).
    return jax.nn.leaky_relu(x, negative_slope=0.01)


def _linear(x):
    return x


ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": _leaky_relu,
    "softplus": jax.nn.softplus,
    "linear": _linear,
}


def check_activation(owner: str, name: str) -> str:
    """The name itself, or a ValueError naming the closest known activation."""
    return _checks.choice(owner, "activation", name, ACTIVATIONS)


def get_activation(name: str):
    """The function registered under `name` (already validated by the constructor)."""
    return ACTIVATIONS[name]
