"""The gated recurrent unit (GRU)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from . import _common, _init
from ._base import AbstractDiscreteRNN


class GRU(AbstractDiscreteRNN):
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
    n_gates = 3

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
        owner = "GRU"
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

    def recurrent_weights(self) -> Float[Array, "gate hidden hidden_in"]:
        """The recurrent matrix of each gate, `(gate, hidden, hidden_in)`."""
        return self.W_rec.reshape(self.n_gates, self.hidden_size, self.hidden_size)

    def step(self, state, u, *, key=None):
        n = self.hidden_size
        x = self.W_in @ u + self.b
        hh = self.W_rec @ state
        r = jax.nn.sigmoid(x[:n] + hh[:n])
        z = jax.nn.sigmoid(x[n : 2 * n] + hh[n : 2 * n])
        a = x[2 * n :] + r * hh[2 * n :]
        if key is not None:
            a = a + self.noise_std * jr.normal(key, a.shape, dtype=a.dtype)
        candidate = jnp.tanh(a)
        return (1.0 - z) * candidate + z * state

    def readout(self, state) -> Float[Array, " output"]:
        return self.W_out @ self.hidden(state) + self.b_out
