"""The long short-term memory network (LSTM)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from . import _common, _init
from ._base import AbstractDiscreteRNN


class LSTM(AbstractDiscreteRNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with a forget gate).

    The full state is concat(h, c) (`state_size = 2·hidden`); `hidden(state)` is h and
    the readout reads h. With gates stacked as (i, f, g, o), as in PyTorch, in `W_in`
    `(4·hidden, input)`, `W_rec` `(4·hidden, hidden)` and `b` `(4·hidden,)`:

        [i, f, g, o] = W_in x + W_rec h + b
        c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)       (+ noise inside the tanh)
        h' = σ(o) ⊙ tanh(c'),     y = W_out h' + b_out.

    With a key, `noise_std` · N(0, 1) is added to the cell input's pre-activation g.
    `recurrent_weights()` returns the gate matrices as `(4, hidden, hidden_in)`.

    **Arguments:** sizes; `noise_std`; `init` ("uniform": every entry U(±1/√fan-in), or
    "gain"); `gain` (scales the recurrent draw); `key`.
    """

    W_in: Float[Array, "gates_hidden input"]
    W_rec: Float[Array, "gates_hidden hidden_in"]
    b: Float[Array, " gates_hidden"]
    W_out: Float[Array, "output hidden"]
    b_out: Float[Array, " output"]
    noise_std: Float[Array, ""]
    gain: Float[Array, ""]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    init: str = eqx.field(static=True)

    non_trainable = ("noise_std", "gain")
    n_gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        noise_std=0.0,
        init: str = "uniform",
        gain=1.0,
        key: PRNGKeyArray,
    ):
        owner = "LSTM"
        n_in, n, n_out = _common.sizes(owner, input_size, hidden_size, output_size)
        self.input_size, self.hidden_size, self.output_size = n_in, n, n_out
        self.init = _init.check_init(owner, init, ("uniform", "gain"))
        self.noise_std = _common.scalar_leaf(owner, "noise_std", noise_std, low=0.0)
        self.gain = _common.scalar_leaf(owner, "gain", gain, low=0.0)
        g = self.n_gates
        z = _init.draw(
            self.init, key,
            {"W_rec": (g * n, n), "W_in": (g * n, n_in), "b": (g * n,), "W_out": (n_out, n), "b_out": (n_out,)},
        )
        self.W_rec = _init.recurrent(self.init, z["W_rec"], gain=self.gain)
        self.W_in = _init.input_weights(self.init, z["W_in"])
        self.b = _init.bias(self.init, z["b"], fan_in=n)
        self.W_out = _init.readout(self.init, z["W_out"])
        self.b_out = _init.bias(self.init, z["b_out"], fan_in=n)

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size

    def cell(self, state) -> Float[Array, " hidden"]:
        """The cell part c of the full state."""
        return state[self.hidden_size :]

    def recurrent_weights(self) -> Float[Array, "gate hidden hidden_in"]:
        """The recurrent matrix of each gate, `(gate, hidden, hidden_in)`."""
        return self.W_rec.reshape(self.n_gates, self.hidden_size, self.hidden_size)

    def step(self, state, u, *, key=None):
        n = self.hidden_size
        h, c = self.hidden(state), self.cell(state)
        gates = self.W_in @ u + self.W_rec @ h + self.b
        i = jax.nn.sigmoid(gates[:n])
        f = jax.nn.sigmoid(gates[n : 2 * n])
        a = gates[2 * n : 3 * n]
        o = jax.nn.sigmoid(gates[3 * n :])
        if key is not None:
            a = a + self.noise_std * jr.normal(key, a.shape, dtype=a.dtype)
        c = f * c + i * jnp.tanh(a)
        h = o * jnp.tanh(c)
        return jnp.concatenate([h, c])

    def readout(self, state) -> Float[Array, " output"]:
        return self.W_out @ self.hidden(state) + self.b_out
