"""Initialisation regimes shared by the models.

Three regimes, chosen by a model's `init` argument (a static field, since "mup" also
changes the forward pass):

| init | recurrent (hidden, hidden_in) | input (hidden, input) | readout (output, hidden) | biases |
|---|---|---|---|---|
| `"gain"` | g N(0, 1/N) | N(0, 1/n_in) | N(0, 1/N) | 0 |
| `"uniform"` | g U(±1/√N) | U(±1/√n_in) | U(±1/√N) | U(±1/√fan-in) |
| `"mup"` | J = g √N N(0, 1), used as J/N | N(0, 1) | N(0, 1), used as W_out/(γN) | 0 |

N is the hidden size and n_in the input size: every bound is 1/√fan-in, as PyTorch's
`nn.Linear` draws it (`nn.RNN` instead uses 1/√hidden for its input weights too). The
gain g scales only the recurrent draw (g = 1 is the default of every regime). Under
"mup" (SCIENCE.md §2) the stored J has entries of variance g²N and the forward pass
uses J/N, so the effective weight has variance g²/N like the "gain" regime while the
parameter the optimiser sees is O(√N); the readout is divided by γN, γ being the
feature-learning knob. g and γ are array leaves, so a sweep varies them under `vmap`.
"""

import math

import jax.numpy as jnp
import jax.random as jr

from .. import _checks

INITS = ("gain", "uniform", "mup")


def check_init(owner: str, init: str, allowed=INITS) -> str:
    """The regime's name, or a ValueError naming the closest allowed one."""
    return _checks.choice(owner, "init", init, allowed)


def _uniform(key, shape, bound):
    return jr.uniform(key, shape, minval=-1.0, maxval=1.0) * bound


def recurrent(init: str, key, shape: tuple[int, ...], *, gain) -> jnp.ndarray:
    """Recurrent weights `(…, hidden, hidden_in)`; fan-in is the last axis."""
    n = shape[-1]
    if init == "gain":
        return gain * jr.normal(key, shape) / math.sqrt(n)
    if init == "uniform":
        return gain * _uniform(key, shape, 1.0 / math.sqrt(n))
    if init == "mup":
        return gain * jr.normal(key, shape) * math.sqrt(n)
    raise ValueError(f"unknown init {init!r}")  # pragma: no cover - validated earlier


def input_weights(init: str, key, shape: tuple[int, ...]) -> jnp.ndarray:
    """Input weights `(…, hidden, input)`; fan-in is the last axis."""
    n = shape[-1]
    if init == "gain":
        return jr.normal(key, shape) / math.sqrt(n)
    if init == "uniform":
        return _uniform(key, shape, 1.0 / math.sqrt(n))
    if init == "mup":
        return jr.normal(key, shape)
    raise ValueError(f"unknown init {init!r}")  # pragma: no cover


def readout(init: str, key, shape: tuple[int, int]) -> jnp.ndarray:
    """Readout weights `(output, hidden)`."""
    n = shape[-1]
    if init == "gain":
        return jr.normal(key, shape) / math.sqrt(n)
    if init == "uniform":
        return _uniform(key, shape, 1.0 / math.sqrt(n))
    if init == "mup":
        return jr.normal(key, shape)
    raise ValueError(f"unknown init {init!r}")  # pragma: no cover


def bias(init: str, key, size: int, *, fan_in: int) -> jnp.ndarray:
    """A bias vector: U(±1/√fan_in) under "uniform", zeros otherwise."""
    if init == "uniform":
        return _uniform(key, (size,), 1.0 / math.sqrt(fan_in))
    return jnp.zeros(size)
