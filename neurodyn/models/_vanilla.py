"""The discrete ("vanilla", Elman) recurrent network."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from . import _activations, _common, _init
from ._base import AbstractDiscreteRNN


class VanillaRNN(AbstractDiscreteRNN):
    """Discrete-time recurrent network.

    h_t = φ(W h_{t−1} + W_in x_t + b),   y_t = W_out h_t + b_out.

    `bias=False` and `readout_bias=False` drop b and b_out (the bias-free ReLU RNN of the
    HMM study, docs/studies/hmm-emulation.md, whose trajectory scales exactly with its input noise).
    `init="mup"` gives the µP form h_t = φ((1/N) J h_{t−1} + U x_t + b) with the readout
    divided by γN (docs/studies/degeneracy.md); `recurrent_weights()` returns the effective J/N. With a
    key, `noise_std` · N(0, 1) is added to the pre-activation at every step.

    **Arguments:**

    - `input_size`: number of input channels (the length of x).
    - `hidden_size`: number of units N.
    - `output_size`: number of outputs (the length of y).
    - `activation`: φ: "tanh", "relu", "leaky_relu" (slope 0.01), "softplus" or "linear".
    - `bias`: include the bias b of the update; False drops it.
    - `readout_bias`: include the readout bias b_out; False drops it.
    - `noise_std`: standard deviation of the noise added to the pre-activation at every
      step when a key is given, ≥ 0 (an array leaf).
    - `init`: the initialisation regime, "uniform" (U(±1/√fan-in), as PyTorch), "gain"
      (N(0, g²/N), zero biases) or "mup" (µP, above); see `neurodyn.models._init`.
    - `gain`: g, the scale of the recurrent draw, ≥ 0 (an array leaf).
    - `gamma`: γ, the µP feature-learning knob: the readout is divided by γN under
      `init="mup"` (unused otherwise); > 0 (an array leaf).
    - `train_h0`: learn the initial state; otherwise it is zeros.
    - `key`: the PRNG key of the weights.
    """

    W_rec: Float[Array, "hidden hidden_in"]
    W_in: Float[Array, "hidden input"]
    b: Float[Array, " hidden"] | None
    W_out: Float[Array, "output hidden"]
    b_out: Float[Array, " output"] | None
    h0: Float[Array, " state"]
    noise_std: Float[Array, ""]
    gain: Float[Array, ""]
    gamma: Float[Array, ""]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    init: str = eqx.field(static=True)
    train_h0: bool = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        activation: str = "tanh",
        bias: bool = True,
        readout_bias: bool = True,
        noise_std=0.0,
        init: str = "uniform",
        gain=1.0,
        gamma=1.0,
        train_h0: bool = False,
        key: PRNGKeyArray,
    ):
        owner = "VanillaRNN"
        n_in, n, n_out = _common.sizes(owner, input_size, hidden_size, output_size)
        self.input_size, self.hidden_size, self.output_size = n_in, n, n_out
        self.activation = _activations.check_activation(owner, activation)
        self.init = _init.check_init(owner, init)
        self.train_h0 = bool(train_h0)
        self.noise_std = _common.scalar_leaf(owner, "noise_std", noise_std, low=0.0)
        self.gain = _common.scalar_leaf(owner, "gain", gain, low=0.0)
        self.gamma = _common.scalar_leaf(owner, "gamma", gamma, low=0.0, low_open=True)
        z = _init.draw(
            self.init, key,
            {"W_rec": (n, n), "W_in": (n, n_in), "b": (n,), "W_out": (n_out, n), "b_out": (n_out,)},
        )
        self.W_rec = _init.recurrent(self.init, z["W_rec"], gain=self.gain)
        self.W_in = _init.input_weights(self.init, z["W_in"])
        self.b = _init.bias(self.init, z["b"], fan_in=n) if bias else None
        self.W_out = _init.readout(self.init, z["W_out"])
        self.b_out = _init.bias(self.init, z["b_out"], fan_in=n) if readout_bias else None
        self.h0 = jnp.zeros(n)

    @property
    def non_trainable(self) -> tuple[str, ...]:
        names = ("noise_std", "gain", "gamma")
        return names if self.train_h0 else names + ("h0",)

    def recurrent_weights(self) -> Float[Array, "hidden hidden_in"]:
        """The effective W (J/N under "mup")."""
        if self.init == "mup":
            return self.W_rec / self.hidden_size
        return self.W_rec

    def penalised_weights(self) -> dict[str, Array]:
        return {"W_rec": self.recurrent_weights()}

    def initial_state(self) -> Float[Array, " hidden"]:
        return self.h0 if self.train_h0 else jax.lax.stop_gradient(self.h0)

    def step(self, state, u, *, key=None):
        z = _common.matvec(self.recurrent_weights(), state) + _common.matvec(self.W_in, u)
        if self.b is not None:
            z = z + self.b
        if key is not None:
            z = z + self.noise_std * jr.normal(key, z.shape, dtype=z.dtype)
        return _activations.get_activation(self.activation)(z)

    def readout(self, state) -> Float[Array, " output"]:
        y = _common.matvec(self.W_out, state)
        if self.init == "mup":
            y = y / (self.gamma * self.hidden_size)
        if self.b_out is not None:
            y = y + self.b_out
        return y
