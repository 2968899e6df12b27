"""What the gated networks (GRU, LSTM) share: stacked gate matrices, their
initialisation, the per-gate recurrent weights and the linear readout."""

from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from . import _common, _init
from ._base import AbstractDiscreteRNN


class AbstractGatedRNN(AbstractDiscreteRNN):
    """A discrete network whose `n_gates` gates are stacked in one input matrix `W_in`
    `(n_gates·hidden, input)`, one recurrent matrix `W_rec` `(n_gates·hidden, hidden)`
    and one bias `b`; subclasses set `n_gates` and define `step` (the gates' algebra).

    **Arguments:**

    - `input_size`: number of input channels (the length of x).
    - `hidden_size`: number of units N, the size of h.
    - `output_size`: number of outputs (the length of y), read from h.
    - `noise_std`: standard deviation of the noise added at every step, when a key is
      given, inside the tanh of the new content (a GRU's candidate n, an LSTM's cell
      input g), ≥ 0 (an array leaf).
    - `init`: the initialisation regime, "uniform" (every entry U(±1/√fan-in), as
      PyTorch) or "gain" (N(0, g²/N) recurrent, zero biases).
    - `gain`: g, the scale of the recurrent draw, ≥ 0 (an array leaf).
    - `key`: the PRNG key of the weights.
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
    n_gates: ClassVar[int]

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
        owner = type(self).__name__
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

    def readout(self, state) -> Float[Array, " output"]:
        return _common.matvec(self.W_out, self.hidden(state)) + self.b_out
