"""The gated recurrent unit (GRU)."""

import jax
import jax.numpy as jnp
import jax.random as jr

from . import _common
from ._gated import AbstractGatedRNN


class GRU(AbstractGatedRNN):
    """Gated recurrent unit (Cho et al. 2014), in PyTorch's "reset after" form.

    With gates stacked as (r, z, n) in `W_in` `(3·hidden, input)`, `W_rec`
    `(3·hidden, hidden)` and one bias `b` `(3·hidden,)`:

        r = σ(W_in,r x + W_rec,r h + b_r)
        z = σ(W_in,z x + W_rec,z h + b_z)
        n = tanh(W_in,n x + b_n + r ⊙ (W_rec,n h))   (+ noise inside the tanh)
        h' = (1 − z) ⊙ n + z ⊙ h,     y = W_out h + b_out.

    Unlike PyTorch there is no separate recurrent bias inside r ⊙ (…). With a key,
    `noise_std` · N(0, 1) is added to the candidate's pre-activation.
    `recurrent_weights()` returns the gate matrices as `(3, hidden, hidden_in)`.

    **Arguments:** those of `AbstractGatedRNN` (sizes, `noise_std`, `init`, `gain`,
    `key`).
    """

    n_gates = 3

    def step(self, state, u, *, key=None):
        n = self.hidden_size
        x = _common.matvec(self.W_in, u) + self.b
        hh = _common.matvec(self.W_rec, state)
        r = jax.nn.sigmoid(x[:n] + hh[:n])
        z = jax.nn.sigmoid(x[n : 2 * n] + hh[n : 2 * n])
        a = x[2 * n :] + r * hh[2 * n :]
        if key is not None:
            a = a + self.noise_std * jr.normal(key, a.shape, dtype=a.dtype)
        candidate = jnp.tanh(a)
        return (1.0 - z) * candidate + z * state
