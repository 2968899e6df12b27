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
"mup" (docs/studies/degeneracy.md) the stored J has entries of variance g²N and the forward pass
uses J/N, so the effective weight has variance g²/N like the "gain" regime while the
parameter the optimiser sees is O(√N); the readout is divided by γN, γ being the
feature-learning knob. g and γ are array leaves, so a sweep varies them under `vmap`.

A constructor draws everything at once with `draw` (one compiled call holding at most
two random draws, which keeps the first construction at a new size cheap), then
scales each standard draw with the functions below.
"""

import functools
import math

import jax
import jax.numpy as jnp
import jax.random as jr

from neurodyn import _checks

INITS = ("gain", "uniform", "mup")


def check_init(owner: str, init: str, allowed=INITS) -> str:
    """The regime's name, or a ValueError naming the closest allowed one."""
    return _checks.choice(owner, "init", init, allowed)


def draw(init: str, key, weights: dict, uniform: dict | None = None) -> dict:
    """Standard draws by name: the regime's N(0, 1) ("gain", "mup") or U(−1, 1)
    ("uniform") for each shape in `weights`, and U(0, 1) for each shape in `uniform`
    (masks, time constants)."""
    gaussian = init in ("gain", "mup")
    return _draw(key, gaussian, tuple(weights.items()), tuple((uniform or {}).items()))


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _draw(key, gaussian: bool, weights: tuple, uniform: tuple) -> dict:
    k_w, k_u = jr.split(key)
    out = {}
    for pairs, k, kind in ((weights, k_w, "weights"), (uniform, k_u, "uniform")):
        if not pairs:
            continue
        sizes = [math.prod(shape) for _, shape in pairs]
        if kind == "uniform":
            flat = jr.uniform(k, (sum(sizes),))
        elif gaussian:
            flat = jr.normal(k, (sum(sizes),))
        else:
            flat = jr.uniform(k, (sum(sizes),), minval=-1.0, maxval=1.0)
        offset = 0
        for (name, shape), size in zip(pairs, sizes):
            out[name] = flat[offset : offset + size].reshape(shape)
            offset += size
    return out


def recurrent(init: str, z, *, gain):
    """Recurrent weights `(…, hidden, hidden_in)` from a standard draw; fan-in = last axis."""
    n = z.shape[-1]
    scale = math.sqrt(n) if init == "mup" else 1.0 / math.sqrt(n)
    return gain * z * scale


def input_weights(init: str, z):
    """Input weights `(…, hidden, input)` from a standard draw; fan-in = last axis."""
    return z if init == "mup" else z / math.sqrt(z.shape[-1])


def readout(init: str, z):
    """Readout weights `(output, hidden)` from a standard draw."""
    return z if init == "mup" else z / math.sqrt(z.shape[-1])


def bias(init: str, z, *, fan_in: int):
    """A bias vector: U(±1/√fan_in) under "uniform", zeros otherwise."""
    if init == "uniform":
        return z / math.sqrt(fan_in)
    return jnp.zeros_like(z)
