"""The long short-term memory network (LSTM)."""

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from . import _common
from ._gated import AbstractGatedRNN


class LSTM(AbstractGatedRNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with a forget gate).

    The full state is concat(h, c) (`state_size = 2·hidden`); `hidden(state)` is h and
    the readout reads h. With gates stacked as (i, f, g, o), as in PyTorch, in `W_in`
    `(4·hidden, input)`, `W_rec` `(4·hidden, hidden)` and `b` `(4·hidden,)`:

        [i, f, g, o] = W_in x + W_rec h + b
        c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)       (+ noise inside the tanh)
        h' = σ(o) ⊙ tanh(c'),     y = W_out h' + b_out.

    With a key, `noise_std` · N(0, 1) is added to the cell input's pre-activation g.
    `recurrent_weights()` returns the gate matrices as `(4, hidden, hidden_in)`.

    **Arguments:** those of `AbstractGatedRNN` (sizes, `noise_std`, `init`, `gain`,
    `key`).
    """

    n_gates = 4

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size

    def cell(self, state) -> Float[Array, " hidden"]:
        """The cell part c of the full state."""
        return state[self.hidden_size :]

    def step(self, state, u, *, key=None):
        n = self.hidden_size
        h, c = self.hidden(state), self.cell(state)
        gates = _common.matvec(self.W_in, u) + _common.matvec(self.W_rec, h) + self.b
        i = jax.nn.sigmoid(gates[:n])
        f = jax.nn.sigmoid(gates[n : 2 * n])
        a = gates[2 * n : 3 * n]
        o = jax.nn.sigmoid(gates[3 * n :])
        if key is not None:
            a = a + self.noise_std * jr.normal(key, a.shape, dtype=a.dtype)
        c = f * c + i * jnp.tanh(a)
        h = o * jnp.tanh(c)
        return jnp.concatenate([h, c])
